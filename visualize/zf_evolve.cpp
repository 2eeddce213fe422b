// zf_evolve: feature evolution during training (the paper's Fig. 4). For every snapshot in a
// checkpoint folder (epoch_001.h5, ...) and the same randomly chosen features of each conv layer,
// it finds the strongest activation over a data set and projects it to pixel space. Writes, per
// layer, <out>/<layer>.h5 and <out>/<layer>.png (rows = features, columns = epochs), and
// conv1_filters.png (conv1's filters at every snapshot).
#include <algorithm>
#include <filesystem>
#include <regex>

#include "core/backend.h"
#include "core/h5io.h"
#include "core/rng.h"
#include "train/cli.h"
#include "visualize/visualize.h"

namespace fs = std::filesystem;
using namespace zf;

namespace {

struct Options {
  std::string checkpoints, data, out = "evolve", device = "cpu";
  std::vector<std::string> layers;
  int per_layer = 8, batch = 64;
  int64_t limit = 0;
  uint64_t seed = 1;
};

struct Snapshot {
  int epoch;
  std::string path;
};

std::vector<Snapshot> find_snapshots(const std::string& dir) {
  ZF_CHECK(fs::is_directory(dir), "%s: no such directory", dir.c_str());
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

// n distinct features of `count`, drawn from the seeded RNG (a partial Fisher-Yates shuffle).
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

// The first conv layer's filters [F, C, k, k], each contrast-normalized alone, side by side with a
// label (RGB for 3 input channels, else the first channel in gray).
Image filter_row(const Tensor& w, const std::string& label, int zoom) {
  const int F = static_cast<int>(w.dim(0)), C = static_cast<int>(w.dim(1)),
            k = static_cast<int>(w.dim(2));
  const int shown = C == 3 ? 3 : 1, cell = k * zoom + 2, label_w = 64;
  Image row = blank_image(label_w + F * cell, k * zoom + 2, shown, 255);
  draw_text(row, 2, 2, label, 0);
  for (int f = 0; f < F; ++f)
    paste(row, display_projection(w.f32() + static_cast<size_t>(f) * C * k * k, shown, k, k, zoom),
          label_w + f * cell, 1);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "render feature evolution across training snapshots (Zeiler & Fergus Fig. 4): for each "
      "snapshot and the same random features, the strongest activation's projection"};
  app.name("zf_evolve");
  app.add_option("--checkpoints", o.checkpoints,
                 "folder with epoch_NNN.h5 snapshots (zf_train's <out>/ckpt)")
      ->required();
  app.add_option("--data", o.data,
                 "data set to search (default: the stored config's validation set, else "
                 "its training set)");
  app.add_option("--layers", o.layers, "conv layers, comma-separated (default: every conv layer)")
      ->delimiter(',');
  app.add_option("--features-per-layer", o.per_layer, "random features shown per layer (default 8)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed for choosing the features (default 1)");
  app.add_option("--limit", o.limit, "search only the first N images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", o.batch, "images per forward pass (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--out", o.out, "output folder (default ./evolve)");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    const Device dev = o.device == "auto" ? (backend::cuda_available() ? Device::CUDA : Device::CPU)
                                          : parse_device(o.device);
    const std::vector<Snapshot> snaps = find_snapshots(o.checkpoints);
    fs::create_directories(o.out);
    ProjectOptions po;  // the paper's deconvnet rule, LRN skipped

    // Per layer, per feature, per snapshot: the projection (and what it came from).
    std::vector<VisLayer> layers;
    std::vector<std::vector<int>> chosen;
    std::vector<std::vector<std::vector<Projection>>> proj;  // [layer][snapshot][feature]
    std::vector<std::vector<std::vector<Hit>>> hits;         // [layer][snapshot][feature]
    std::vector<int> fields;
    std::string arch, data_source, first_conv_name;
    int C = 0;
    std::vector<Image> filter_rows;
    for (size_t si = 0; si < snaps.size(); ++si) {
      Session s = open_session(snaps[si].path, "", dev);
      if (si == 0) {
        arch = s.meta.arch;
        if (o.layers.empty()) {
          layers = conv_layers(*s.net);
        } else {
          for (const auto& n : o.layers) layers.push_back(find_vis_layer(*s.net, n));
        }
        for (size_t li = 0; li < layers.size(); ++li) {
          chosen.push_back(choose_features(layers[li].features, o.per_layer, o.seed, li));
          fields.push_back(receptive_field(*s.net, layers[li].act).size);
        }
        proj.resize(layers.size());
        hits.resize(layers.size());
        C = static_cast<int>(s.net->input_chw()[0]);
      }
      ZF_CHECK(s.meta.arch == arch, "%s: another architecture than %s", snaps[si].path.c_str(),
               snaps[0].path.c_str());
      std::unique_ptr<Dataset> ds = open_session_data(s, o.data, o.limit);
      data_source = ds->source();
      std::fprintf(stderr, "snapshot epoch %d (%zu of %zu)\n", snaps[si].epoch, si + 1,
                   snaps.size());
      std::vector<TopK> tops = mine_topk(s, *ds, layers, 1, o.batch);
      for (size_t li = 0; li < layers.size(); ++li) {
        std::vector<ProjectRequest> req;
        std::vector<Hit> h;
        for (int f : chosen[li]) {
          h.push_back(tops[li].sorted(f)[0]);
          req.push_back(ProjectRequest{f, h.back()});
        }
        proj[li].push_back(project_hits(s, *ds, layers[li], req, po, o.batch));
        hits[li].push_back(h);
      }
      const std::vector<VisLayer> convs = conv_layers(*s.net);
      if (!convs.empty()) {
        first_conv_name = convs[0].name;
        Tensor w = s.net->layer(convs[0].conv).params()[0]->value.to(Device::CPU);
        filter_rows.push_back(filter_row(w, "epoch " + std::to_string(snaps[si].epoch),
                                         std::max(1, 24 / static_cast<int>(w.dim(2)))));
      }
    }

    const size_t E = snaps.size();
    for (size_t li = 0; li < layers.size(); ++li) {
      const VisLayer& L = layers[li];
      const int field = fields[li], F = static_cast<int>(chosen[li].size());
      const int zoom = std::max(1, (64 + field - 1) / field), cell = field * zoom + 4;
      const int left = 40, top = 30;
      Image img = blank_image(left + static_cast<int>(E) * cell + 4, top + F * cell + 4, C, 255);
      draw_text(img, 4, 4, L.name, 0, 2);
      for (size_t e = 0; e < E; ++e)
        draw_text(img, left + static_cast<int>(e) * cell, top - 10,
                  "ep " + std::to_string(snaps[e].epoch), 0);
      for (int f = 0; f < F; ++f) {
        draw_text(img, 4, top + f * cell + cell / 2 - 4, "f" + std::to_string(chosen[li][f]), 0);
        for (size_t e = 0; e < E; ++e) {
          const Projection& p = proj[li][e][f];
          paste(img, display_projection(p.proj.data(), C, field, field, zoom),
                left + static_cast<int>(e) * cell, top + f * cell);
        }
      }
      const std::string base = o.out + "/" + L.name;
      write_png(base + ".png", img);
      h5::write_file_atomically(base + ".h5", [&](hid_t file) {
        using namespace h5;
        {
          write_attr_str(file, "layer", L.name);
          write_attr_str(file, "checkpoints", o.checkpoints);
          write_attr_str(file, "dataset", data_source);
          write_attr_str(file, "rule", "deconv");
          std::vector<int32_t> epochs;
          for (const auto& s : snaps) epochs.push_back(s.epoch);
          std::vector<float> values, pr;
          std::vector<int64_t> image;
          for (int f = 0; f < F; ++f)
            for (size_t e = 0; e < E; ++e) {
              values.push_back(hits[li][e][f].value);
              image.push_back(hits[li][e][f].image);
              pr.insert(pr.end(), proj[li][e][f].proj.begin(), proj[li][e][f].proj.end());
            }
          const hsize_t hf = static_cast<hsize_t>(F), he = E, hc = static_cast<hsize_t>(C),
                        hh = static_cast<hsize_t>(field);
          write_array(file, "epochs", H5T_STD_I32LE, H5T_NATIVE_INT32, {he}, epochs.data());
          write_array(file, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {hf},
                      chosen[li].data());
          write_array(file, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {hf, he}, values.data());
          write_array(file, "image_index", H5T_STD_I64LE, H5T_NATIVE_INT64, {hf, he}, image.data());
          write_array(file, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {hf, he, hc, hh, hh},
                      pr.data());
        }
      });
      std::printf("%s.h5, %s.png (%d features x %zu snapshots)\n", base.c_str(), base.c_str(), F,
                  E);
    }
    if (!filter_rows.empty()) {
      int w = 0, h = 0;
      for (const Image& r : filter_rows) w = std::max(w, r.width), h += r.height + 2;
      Image img = blank_image(w, h, filter_rows[0].channels, 255);
      int y = 0;
      for (const Image& r : filter_rows) paste(img, r, 0, y), y += r.height + 2;
      write_png(o.out + "/" + first_conv_name + "_filters.png", img);
      std::printf("%s/%s_filters.png\n", o.out.c_str(), first_conv_name.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    report_error("zf_evolve", e);
    return 1;
  }
}
