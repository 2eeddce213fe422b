// zf_project: mines each conv layer's top-k activations over a data set, projects each one alone to
// pixel space with the deconvnet, and writes <out>/<layer>.h5 (DESIGN section 5) and
// <out>/<layer>.png (the paper's Fig. 2: for each feature a 3x3 grid of projections beside a 3x3
// grid of image patches). With --image, it dumps the activations of given images and the full-size
// projections of their strongest features instead.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/backend.h"
#include "core/h5io.h"
#include "train/cli.h"
#include "visualize/visualize.h"

namespace fs = std::filesystem;
using namespace zf;

namespace {

struct Options {
  std::string checkpoint, config, data, out = "project", rule = "deconv", features = "all",
                                        device = "cpu";
  std::vector<std::string> images, layers;
  int k = 9, batch = 64, show = 16, top = 9;
  int64_t limit = 0;
  bool through_lrn = false;
};

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

// The Fig. 2 montage: one block per shown feature, a g x g grid of projections beside the patches.
Image montage(const std::vector<int>& shown, const std::vector<int>& ids,
              const std::vector<Projection>& pr, int k, int C, int field,
              const std::string& title) {
  const int g = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(k))));
  const int zoom = std::max(1, (48 + field - 1) / field), cell = field * zoom + 2;
  const int block_w = 2 * g * cell + 12, block_h = g * cell + 14, per_row = 4;
  const int rows = (static_cast<int>(shown.size()) + per_row - 1) / per_row;
  Image img = blank_image(per_row * block_w + 8, rows * block_h + 24, C, 255);
  draw_text(img, 6, 6, title, 0, 2);
  for (size_t s = 0; s < shown.size(); ++s) {
    const int fi = shown[s], bx = 4 + static_cast<int>(s % per_row) * block_w,
              by = 24 + static_cast<int>(s / per_row) * block_h;
    draw_text(img, bx, by, "f" + std::to_string(ids[fi]), 0);
    for (int j = 0; j < k; ++j) {
      const Projection& p = pr[static_cast<size_t>(fi) * k + j];
      const int cx = (j % g) * cell, cy = 10 + (j / g) * cell;
      paste(img, display_projection(p.proj.data(), C, field, field, zoom), bx + cx, by + cy);
      paste(img, display_patch(p.patch.data(), C, field, field, zoom), bx + g * cell + 6 + cx,
            by + cy);
    }
  }
  return img;
}

void write_layer_dump(const std::string& path, const Options& o, const Session& s,
                      const Dataset& ds, const VisLayer& L, const std::vector<int>& ids,
                      const std::vector<std::vector<Hit>>& hits, const std::vector<Projection>& pr,
                      int C, int field) {
  using namespace h5;
  write_file_atomically(path, [&](hid_t f) {
    write_attr_str(f, "layer", L.name);
    write_attr_str(f, "checkpoint", s.checkpoint);
    write_attr_str(f, "dataset", ds.source());
    write_attr_str(f, "rule", o.rule);
    write_attr_i64(f, "k", o.k);
    write_attr_i64(f, "through_lrn", o.through_lrn);
    const Field rf = receptive_field(*s.net, L.act);
    write_attr_i64(f, "field_size", rf.size);
    write_attr_i64(f, "field_jump", rf.jump);
    write_attr_i64(f, "field_first", rf.first);
    const hsize_t F = ids.size(), K = static_cast<hsize_t>(o.k);
    std::vector<float> values;
    std::vector<int64_t> image;
    std::vector<int32_t> pos;
    std::vector<float> proj;
    std::vector<uint8_t> patch;
    for (size_t i = 0; i < ids.size(); ++i)
      for (int j = 0; j < o.k; ++j) {
        const Hit& h = hits[i][j];
        values.push_back(h.value);
        image.push_back(h.image);
        pos.push_back(h.y);
        pos.push_back(h.x);
        const Projection& p = pr[i * o.k + j];
        proj.insert(proj.end(), p.proj.begin(), p.proj.end());
        patch.insert(patch.end(), p.patch.begin(), p.patch.end());
      }
    const hsize_t c = static_cast<hsize_t>(C), h = static_cast<hsize_t>(field);
    write_array(f, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {F}, ids.data());
    write_array(f, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {F, K}, values.data());
    write_array(f, "image_index", H5T_STD_I64LE, H5T_NATIVE_INT64, {F, K}, image.data());
    write_array(f, "position", H5T_STD_I32LE, H5T_NATIVE_INT32, {F, K, 2}, pos.data());
    write_array(f, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {F, K, c, h, h}, proj.data());
    write_array(f, "patches", H5T_STD_U8LE, H5T_NATIVE_UINT8, {F, K, c, h, h}, patch.data());
  });
}

// A data set of the images given on the command line, resized and center-cropped to the net's
// input.
class ImageListDataset : public Dataset {
 public:
  ImageListDataset(const std::vector<std::string>& files, int channels, int size)
      : c_(channels), size_(size) {
    for (const auto& f : files) {
      Image img = resize_center_square(decode_image_file(f, channels), size);
      std::vector<uint8_t> chw(img.pixels.size());
      const size_t plane = static_cast<size_t>(size) * size;
      for (size_t p = 0; p < plane; ++p)
        for (int c = 0; c < channels; ++c) chw[c * plane + p] = img.pixels[p * channels + c];
      images_.push_back(std::move(chw));
      files_.push_back(f);
    }
  }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int channels() const override { return c_; }
  int height() const override { return size_; }
  int width() const override { return size_; }
  int num_classes() const override { return 1; }
  int32_t label(int64_t) const override { return 0; }
  void image(int64_t i, uint8_t* chw) const override {
    std::copy(images_[i].begin(), images_[i].end(), chw);
  }
  std::string source() const override { return files_.empty() ? "" : files_[0]; }

 private:
  int c_, size_;
  std::vector<std::vector<uint8_t>> images_;
  std::vector<std::string> files_;
};

void run_images(const Options& o, Session& s, const std::vector<VisLayer>& layers,
                const ProjectOptions& po) {
  const DataConfig& dc = s.cfg.data;
  ImageListDataset ds(o.images, s.norm.c, s.norm.h - 2 * dc.transform.pad);
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  for (int64_t i = 0; i < ds.size(); ++i) {
    const std::string stem = fs::path(o.images[i]).stem().string();
    std::vector<uint8_t> pixels(static_cast<size_t>(C) * H * W);
    Tensor x(Shape{1, C, H, W});
    view_sample(ds, dc.transform, s.norm, i, kCenterView, x.f32(), pixels.data());
    const Tensor xin = x.to(s.net->device());
    for (const VisLayer& L : layers) {
      // Activations of this image, and its `top` strongest features (by their maximum).
      RunState rs;
      rs.phase = Phase::Eval;
      const Pass pass = s.net->forward_to(xin, L.act, rs);
      Tensor act = pass.output(L.act).to(Device::CPU);
      const int F = static_cast<int>(act.c()), AH = static_cast<int>(act.h()),
                AW = static_cast<int>(act.w());
      std::vector<ProjectRequest> req;
      for (int f = 0; f < F; ++f) {
        const float* p = act.f32() + static_cast<size_t>(f) * AH * AW;
        int best = 0;
        for (int j = 1; j < AH * AW; ++j)
          if (p[j] > p[best]) best = j;
        req.push_back(ProjectRequest{f, Hit{p[best], i, best / AW, best % AW}});
      }
      std::stable_sort(req.begin(), req.end(),
                       [](const ProjectRequest& a, const ProjectRequest& b) {
                         return a.hit.value > b.hit.value;
                       });
      req.resize(std::min<size_t>(req.size(), static_cast<size_t>(o.top)));
      auto full = project_full(s, ds, L, req, po, o.batch);
      const std::string base = o.out + "/" + stem + "_" + L.name;
      h5::write_file_atomically(base + ".h5", [&](hid_t f) {
        using namespace h5;
        write_attr_str(f, "layer", L.name);
        write_attr_str(f, "checkpoint", s.checkpoint);
        write_attr_str(f, "image", o.images[i]);
        write_attr_str(f, "rule", o.rule);
        const hsize_t R = req.size();
        std::vector<int32_t> ids;
        std::vector<float> vals, proj;
        for (size_t r = 0; r < req.size(); ++r) {
          ids.push_back(req[r].feature);
          vals.push_back(req[r].hit.value);
          proj.insert(proj.end(), full[r].begin(), full[r].end());
        }
        write_array(f, "activations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                    {static_cast<hsize_t>(F), static_cast<hsize_t>(AH), static_cast<hsize_t>(AW)},
                    act.f32());
        write_array(f, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {R}, ids.data());
        write_array(f, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {R}, vals.data());
        write_array(f, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                    {R, static_cast<hsize_t>(C), static_cast<hsize_t>(H), static_cast<hsize_t>(W)},
                    proj.data());
        write_array(f, "image", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                    {static_cast<hsize_t>(C), static_cast<hsize_t>(H), static_cast<hsize_t>(W)},
                    pixels.data());
      });
      const int zoom = std::max(1, 96 / H), cell = W * zoom + 4;
      Image img = blank_image(static_cast<int>(req.size() + 1) * cell + 4, H * zoom + 20, C, 255);
      draw_text(img, 4, 2, L.name, 0);
      paste(img, display_patch(pixels.data(), C, H, W, zoom), 4, 14);
      for (size_t r = 0; r < req.size(); ++r) {
        const int x = 4 + static_cast<int>(r + 1) * cell;
        paste(img, display_projection(full[r].data(), C, H, W, zoom), x, 14);
        draw_text(img, x, 2 + 0, "f" + std::to_string(req[r].feature), 0);
      }
      write_png(base + ".png", img);
      std::printf("%s.h5, %s.png\n", base.c_str(), base.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "mine each conv layer's top-k activations over a data set, project them to pixel space with "
      "the deconvnet, and write <out>/<layer>.h5 and <out>/<layer>.png (Zeiler & Fergus Fig. 2)"};
  app.name("zf_project");
  app.add_option("--checkpoint", o.checkpoint, "checkpoint (.h5) written by zf_train")->required();
  app.add_option("--config", o.config, "YAML config (default: the one stored in the checkpoint)");
  auto* data =
      app.add_option("--data", o.data,
                     "data set to mine, read with the config's data format (default: the config's "
                     "validation set, else its training set)");
  app.add_option("--image", o.images,
                 "image file(s) instead of a data set: dump their activations and the "
                 "full-size projections of their strongest features")
      ->excludes(data);
  app.add_option("--layers", o.layers, "conv layers, comma-separated (default: every conv layer)")
      ->delimiter(',');
  app.add_option("--k", o.k, "activations kept per feature (default 9)")->check(CLI::Range(1, 100));
  app.add_option("--features", o.features, "feature ids, comma-separated, or 'all' (default all)");
  app.add_option("--show", o.show,
                 "features drawn in each montage, evenly spread over the selection (default 16)")
      ->check(CLI::PositiveNumber);
  app.add_option("--top", o.top, "--image mode: strongest features projected per layer (default 9)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rule", o.rule, "how signals cross a ReLU: deconv (the paper), guided, backprop")
      ->check(CLI::IsMember({"deconv", "guided", "backprop"}));
  app.add_flag("--through-lrn", o.through_lrn,
               "apply LRN's backward on the way down (default: skip LRN)");
  app.add_option("--limit", o.limit, "mine only the first N images of the data set (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", o.batch, "images per forward pass (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--out", o.out, "output folder (default ./project)");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    const Device dev = o.device == "auto" ? (backend::cuda_available() ? Device::CUDA : Device::CPU)
                                          : parse_device(o.device);
    Session s = open_session(o.checkpoint, o.config, dev);
    std::vector<VisLayer> layers;
    if (o.layers.empty()) {
      layers = conv_layers(*s.net);
    } else {
      for (const auto& n : o.layers) layers.push_back(find_vis_layer(*s.net, n));
    }
    ProjectOptions po;
    po.rule = parse_relu_rule(o.rule.c_str());
    po.through_lrn = o.through_lrn;
    fs::create_directories(o.out);
    if (!o.images.empty()) {
      run_images(o, s, layers, po);
      return 0;
    }
    std::unique_ptr<Dataset> ds = open_session_data(s, o.data, o.limit);
    std::vector<TopK> tops = mine_topk(s, *ds, layers, o.k, o.batch);
    const int C = static_cast<int>(s.net->input_chw()[0]);
    for (size_t li = 0; li < layers.size(); ++li) {
      const VisLayer& L = layers[li];
      const std::vector<int> ids = parse_features(o.features, L.features, L.name);
      std::vector<std::vector<Hit>> hits;
      std::vector<ProjectRequest> req;
      for (int f : ids) {
        hits.push_back(tops[li].sorted(f));
        for (const Hit& h : hits.back()) req.push_back(ProjectRequest{f, h});
      }
      std::vector<Projection> pr = project_hits(s, *ds, L, req, po, o.batch);
      const int field = receptive_field(*s.net, L.act).size;
      write_layer_dump(o.out + "/" + L.name + ".h5", o, s, *ds, L, ids, hits, pr, C, field);
      std::vector<int> shown;
      const int n = std::min<int>(o.show, static_cast<int>(ids.size()));
      for (int j = 0; j < n; ++j)
        shown.push_back(
            static_cast<int>(static_cast<int64_t>(j) * static_cast<int64_t>(ids.size()) / n));
      write_png(o.out + "/" + L.name + ".png",
                montage(shown, ids, pr, o.k, C, field,
                        L.name + " " + o.rule + " top " + std::to_string(o.k)));
      std::printf("%s/%s.h5, %s/%s.png (%zu features, field %dx%d)\n", o.out.c_str(),
                  L.name.c_str(), o.out.c_str(), L.name.c_str(), ids.size(), field, field);
    }
    return 0;
  } catch (const std::exception& e) {
    report_error("zf_project", e);
    return 1;
  }
}
