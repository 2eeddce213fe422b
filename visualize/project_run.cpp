// zf_project's work (see project_run.h): layer selection, mining, projection, dumps and pictures.
#include "visualize/project_run.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "visualize/dumps.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

std::vector<int> parse_features(const std::string& spec, int count, const std::string& layer) {
  std::vector<int> ids;
  if (spec == "all") {
    for (int f = 0; f < count; ++f) ids.push_back(f);
    return ids;
  }
  std::stringstream ss(spec);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    char* end = nullptr;
    const long v = std::strtol(tok.c_str(), &end, 10);
    ZF_CHECK(!tok.empty() && *end == '\0', "--features: '%s' is not a feature number", tok.c_str());
    ZF_CHECK(v >= 0 && v < count, "--features: feature %ld outside layer %s's 0..%d", v,
             layer.c_str(), count - 1);
    ids.push_back(static_cast<int>(v));
  }
  ZF_CHECK(!ids.empty(), "--features: empty list");
  return ids;
}

namespace {

std::vector<FeatureLayer> select_layers(Net& net, const std::vector<std::string>& names) {
  if (names.empty()) return filtering_layers(net);
  std::vector<FeatureLayer> layers;
  for (const auto& n : names) layers.push_back(find_feature_layer(net, n));
  return layers;
}

DumpInfo dump_info(const ProjectRunOptions& o, Session& s, const FeatureLayer& L) {
  DumpInfo info;
  info.layer = L.name;
  info.checkpoint = s.checkpoint;
  info.rule = o.rule;
  info.through_lrn = o.through_lrn;
  info.field = receptive_field(*s.net, L.act);
  return info;
}

// `show` of the n selected features, spread evenly (indices into the selection).
std::vector<int> spread(int show, size_t n) {
  std::vector<int> shown;
  const int m = std::min<int>(show, static_cast<int>(n));
  for (int j = 0; j < m; ++j)
    shown.push_back(static_cast<int>(static_cast<int64_t>(j) * static_cast<int64_t>(n) / m));
  return shown;
}

// One layer of a data-set run: the selected features' top-k hits, projected and written.
void write_layer(const ProjectRunOptions& o, Session& s, const Dataset& ds, const FeatureLayer& L,
                 const std::vector<int>& ids, const TopK& top, const ProjectOptions& po) {
  std::vector<std::vector<Hit>> hits;
  std::vector<ProjectRequest> req;
  for (int f : ids) {
    hits.push_back(top.sorted(f));
    for (const Hit& h : hits.back()) req.push_back(ProjectRequest{f, h});
  }
  const std::vector<Projection> pr = project_hits(s, ds, L, req, po, o.batch);
  const DumpInfo info = dump_info(o, s, L);
  const int C = static_cast<int>(s.net->input_chw()[0]), field = info.field.size;
  const std::string base = o.out + "/" + L.name;
  write_topk_dump(base + ".h5", info, ds.source(), o.k, ids, hits, pr, C);
  write_png(base + ".png", fig2_montage(spread(o.show, ids.size()), ids, pr, o.k, C, field,
                                        L.name + " " + o.rule + " top " + std::to_string(o.k)));
  std::printf("%s.h5, %s.png (%zu features, field %dx%d)\n", base.c_str(), base.c_str(), ids.size(),
              field, field);
}

// One image and layer of an image run: its activations and its strongest features' projections.
void write_image_layer(const ProjectRunOptions& o, Session& s, const Dataset& ds, int64_t i,
                       const FeatureLayer& L, const ProjectOptions& po) {
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  std::vector<uint8_t> pixels(static_cast<size_t>(C) * H * W);
  Tensor x(Shape{1, C, H, W});
  view_sample(ds, s.cfg.data.transform, s.norm, i, kCenterView, x.f32(), pixels.data());
  RunState rs;
  rs.phase = Phase::Eval;
  const Pass pass = s.net->forward_to(x.to(s.net->device()), L.act, rs);
  const Tensor act = pass.output(L.act).to(Device::CPU);
  const std::vector<ProjectRequest> req = strongest_features(act, 0, i, o.top);
  const auto full = project_full(s, ds, L, req, po, o.batch);
  const std::string base = o.out + "/" + fs::path(o.images[i]).stem().string() + "_" + L.name;
  write_image_dump(base + ".h5", dump_info(o, s, L), o.images[i], o.top, act, req, full,
                   pixels.data(), in);
  write_png(base + ".png", image_strip(L.name, pixels.data(), C, H, W, req, full));
  std::printf("%s.h5, %s.png\n", base.c_str(), base.c_str());
}

}  // namespace

// Every input is checked before any work and before --out is created, so that a bad option or file
// costs no mining and leaves nothing behind: the layers and --features against the net, the
// images decoded (or the data set opened and k checked against its size).
void run_project(const ProjectRunOptions& o) {
  Session s = open_session(o.checkpoint, o.config, backend::resolve_device(o.device));
  const std::vector<FeatureLayer> layers = select_layers(*s.net, o.layers);
  std::vector<std::vector<int>> ids;
  for (const FeatureLayer& L : layers)
    ids.push_back(parse_features(o.features, L.features, L.name));
  ProjectOptions po;
  po.rule = parse_relu_rule(o.rule.c_str());
  po.through_lrn = o.through_lrn;
  if (!o.images.empty()) {
    const std::unique_ptr<Dataset> ds = open_image_files(s, o.images);
    fs::create_directories(o.out);
    for (int64_t i = 0; i < ds->size(); ++i)
      for (const FeatureLayer& L : layers) write_image_layer(o, s, *ds, i, L, po);
    return;
  }
  const std::unique_ptr<Dataset> ds = open_session_data(s, o.data, o.limit);
  check_k_fits(o.k, *ds);
  fs::create_directories(o.out);
  const std::vector<TopK> tops = mine_topk(s, *ds, layers, o.k, o.batch);
  for (size_t li = 0; li < layers.size(); ++li)
    write_layer(o, s, *ds, layers[li], ids[li], tops[li], po);
}

}  // namespace zf
