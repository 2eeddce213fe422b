// zf_evolve's work (see evolve_run.h): snapshots, the chosen features, mining and projection per
// snapshot, then the Fig. 4 grids, their dumps and the filter picture.
#include "visualize/evolve_run.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "core/io/checkpoint.h"
#include "core/rng.h"
#include "visualize/dumps.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

std::vector<Snapshot> find_snapshots(const std::string& dir) {
  // One checkpoint file (an imported net, a run's last.h5): a single column, at its epoch.
  if (fs::is_regular_file(dir)) return {Snapshot{read_checkpoint(dir).epoch, dir}};
  ZF_CHECK(fs::is_directory(dir), "%s: no such directory or checkpoint file", dir.c_str());
  std::vector<Snapshot> s;
  const std::regex re("epoch_([0-9]+)\\.h5");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re)) s.push_back(Snapshot{std::stoi(m[1]), e.path().string()});
  }
  ZF_CHECK(!s.empty(), "%s: no snapshots (epoch_NNN.h5) found", dir.c_str());
  std::sort(s.begin(), s.end(),
            [](const Snapshot& a, const Snapshot& b) { return a.epoch < b.epoch; });
  return s;
}

std::vector<int> choose_features(int count, int n, uint64_t seed, uint64_t stream) {
  std::vector<int> all(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) all[i] = i;
  n = std::min(n, count);
  for (int i = 0; i < n; ++i) {
    const int j = i + static_cast<int>(rng_u32(seed, stream, static_cast<uint64_t>(i)) %
                                       static_cast<uint32_t>(count - i));
    std::swap(all[i], all[j]);
  }
  all.resize(static_cast<size_t>(n));
  std::sort(all.begin(), all.end());
  return all;
}

namespace {

// What the run gathers over the snapshots, fixed by the first one (layers, features, fields).
struct Evolution {
  std::string arch, first_filtering;
  std::vector<FeatureLayer> layers;
  std::vector<EvolveDump> dumps;  // per layer
  std::vector<Image> filter_rows;
};

void start(Evolution& ev, const EvolveRunOptions& o, Session& s) {
  ev.arch = s.meta.arch;
  Net& net = *s.net;
  if (o.layers.empty()) ev.layers = filtering_layers(net);
  for (const auto& n : o.layers) ev.layers.push_back(find_feature_layer(net, n));
  for (size_t li = 0; li < ev.layers.size(); ++li) {
    EvolveDump d;
    d.layer = ev.layers[li].name;
    d.checkpoints = o.checkpoints;
    d.features = choose_features(ev.layers[li].features, o.per_layer, o.seed, li);
    d.field = receptive_field(net, ev.layers[li].act).size;
    d.channels = static_cast<int>(net.input_chw()[0]);
    ev.dumps.push_back(std::move(d));
  }
}

// One snapshot: each chosen feature's strongest activation over the data set, projected; and a
// row of the first filtering layer's filters.
void add_snapshot(Evolution& ev, const EvolveRunOptions& o, Session& s, const Dataset& ds,
                  const Snapshot& snap) {
  const std::vector<TopK> tops = mine_topk(s, ds, ev.layers, 1, o.batch);
  const ProjectOptions po;  // the paper's deconvnet rule, LRN skipped
  for (size_t li = 0; li < ev.layers.size(); ++li) {
    EvolveDump& d = ev.dumps[li];
    std::vector<ProjectRequest> req;
    std::vector<Hit> hits;
    for (int f : d.features) {
      hits.push_back(tops[li].sorted(f)[0]);
      req.push_back(ProjectRequest{f, hits.back()});
    }
    d.dataset = ds.source();
    d.epochs.push_back(snap.epoch);
    d.proj.push_back(project_hits(s, ds, ev.layers[li], req, po, o.batch));
    d.hits.push_back(std::move(hits));
  }
  const std::vector<FeatureLayer> filtering = filtering_layers(*s.net);
  if (filtering.empty()) return;
  ev.first_filtering = filtering[0].name;
  const Tensor w = s.net->layer(filtering[0].layer).params()[0]->value.to(Device::CPU);
  ev.filter_rows.push_back(filter_row(w, "epoch " + std::to_string(snap.epoch),
                                      std::max(1, 24 / static_cast<int>(w.dim(2)))));
}

void write_outputs(const Evolution& ev, const EvolveRunOptions& o) {
  for (const EvolveDump& d : ev.dumps) {
    const std::string base = o.out + "/" + d.layer;
    write_png(base + ".png", fig4_grid(d.layer, d.epochs, d.features, d.proj, d.channels, d.field));
    write_evolve_dump(base + ".h5", d);
    std::printf("%s.h5, %s.png (%zu features x %zu snapshots)\n", base.c_str(), base.c_str(),
                d.features.size(), d.epochs.size());
  }
  if (ev.filter_rows.empty()) return;
  write_png(o.out + "/" + ev.first_filtering + "_filters.png", stack_rows(ev.filter_rows));
  std::printf("%s/%s_filters.png\n", o.out.c_str(), ev.first_filtering.c_str());
}

}  // namespace

// Every snapshot is opened (header, stored config, architecture, weights) and the layers and data
// set are checked before any snapshot is processed and before --out is created: a truncated last
// snapshot must not cost the work on the others, nor leave an empty folder behind.
void run_evolve(const EvolveRunOptions& o) {
  const Device dev = backend::resolve_device(o.device);
  const std::vector<Snapshot> snaps = find_snapshots(o.checkpoints);
  Evolution ev;
  std::unique_ptr<Dataset> ds;
  for (size_t si = 0; si < snaps.size(); ++si) {
    Session s = open_session(snaps[si].path, "", Device::CPU);
    if (si == 0) {
      start(ev, o, s);
      ds = open_session_data(s, o.data, o.limit);
    }
    ZF_CHECK(s.meta.arch == ev.arch, "%s: another architecture than %s", snaps[si].path.c_str(),
             snaps[0].path.c_str());
  }
  fs::create_directories(o.out);
  for (size_t si = 0; si < snaps.size(); ++si) {
    Session s = open_session(snaps[si].path, "", dev);
    std::fprintf(stderr, "snapshot epoch %d (%zu of %zu)\n", snaps[si].epoch, si + 1, snaps.size());
    add_snapshot(ev, o, s, *ds, snaps[si]);
  }
  write_outputs(ev, o);
}

}  // namespace zf
