// zf_analyze occlusion (see occlusion.h): the options resolved against the net, the strongest map
// of each unoccluded image, the occlusion maps (occlusion_engine.h), the map's projections in
// this image and in K others, and per image an HDF5 dump and a figure laid out like Fig. 7.
#include "visualize/analyses/occlusion.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/io/h5io.h"
#include "train/cli.h"
#include "train/progress.h"
#include "visualize/analyses/figure.h"
#include "visualize/mining.h"
#include "visualize/projection.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

// The options with their defaults resolved for this net, checked before any work.
struct Resolved {
  int size = 0, stride = 0;
  FeatureLayer layer;
  std::vector<float> fill;  // [C,H,W] normalized
  std::string fill_desc;
  bool incremental = true;
};

// "mean" -> 0 after normalization (the data mean); a pixel value v -> v normalized like the image.
std::vector<float> parse_fill(const Session& s, const std::string& spec, std::string* desc) {
  const Shape& in = s.net->input_chw();
  std::vector<float> fill(static_cast<size_t>(in.numel()), 0.f);
  if (spec == "mean") {
    *desc = "mean (the data mean: 0 after normalization)";
    return fill;
  }
  char* end = nullptr;
  const double v = std::strtod(spec.c_str(), &end);
  if (spec.empty() || *end != '\0' || !(v >= 0 && v <= 255))
    throw CliError("--fill " + spec + ": expected mean or a pixel value 0..255");
  const std::vector<float> mean = view_mean(s);
  const size_t plane = static_cast<size_t>(in[1] * in[2]);
  for (size_t i = 0; i < fill.size(); ++i)
    fill[i] = (static_cast<float>(v) - mean[i]) * s.norm.inv_std[i / plane] * s.norm.scale;
  *desc = "pixel value " + spec;
  return fill;
}

Resolved resolve(const OcclusionOptions& o, Session& s) {
  Resolved r;
  const Shape& in = s.net->input_chw();
  const int side = static_cast<int>(std::min(in[1], in[2]));
  r.size = o.size ? o.size : std::max(1, static_cast<int>(std::lround(side / 5.0)));
  r.stride = o.stride ? o.stride : std::max(1, static_cast<int>(std::lround(8.0 * side / 224)));
  if (r.size > side)
    throw CliError("--size " + std::to_string(r.size) + ": larger than the " +
                   std::to_string(in[1]) + "x" + std::to_string(in[2]) + " input");
  if (o.layer.empty()) {
    const std::vector<FeatureLayer> convs = filtering_layers(*s.net);
    ZF_CHECK(!convs.empty(), "the net has no conv layer: give --layer");
    r.layer = convs.back();
  } else {
    r.layer = find_feature_layer(*s.net, o.layer);
  }
  r.fill = parse_fill(s, o.fill, &r.fill_desc);
  r.incremental = o.method == "incremental" && s.net->device() == Device::CPU;
  return r;
}

// The map of activation `act` [1, F, ...] with the largest maximum ("max") or sum ("sum"); ties:
// the lower map.
int strongest_map(const Tensor& act, const std::string& how) {
  const int64_t F = act.dim(1), per = act.numel() / F;
  int best = 0;
  double best_v = 0;
  for (int64_t f = 0; f < F; ++f) {
    const float* v = act.f32() + f * per;
    double s = how == "sum" ? 0.0 : static_cast<double>(v[0]);
    for (int64_t i = 0; i < per; ++i)
      s = how == "sum" ? s + v[i] : std::max(s, static_cast<double>(v[i]));
    if (f == 0 || s > best_v) best = static_cast<int>(f), best_v = s;
  }
  return best;
}

// One image's analysis: what the dump and the figure need.
struct ImageResult {
  NetView view;
  int feature = 0, true_class = 0, predicted = 0;
  std::string label_source;  // "given", "dataset" or "predicted"
  std::vector<float> clean_probs;
  OcclusionMaps maps;
  ProjectRequest self;  // the map's strongest unit in this image
};

ImageResult analyze_image(const OcclusionOptions& o, Session& s, const Resolved& r,
                          const AnalysisImage& img, int64_t index) {
  ImageResult res;
  res.view = net_view(s, img.src.data());
  const Shape& in = s.net->input_chw();
  Tensor x(Shape{1, in[0], in[1], in[2]});
  std::copy(res.view.x.begin(), res.view.x.end(), x.f32());
  const Forward f = forward_host(s, x, {r.layer.act}, true, 1);
  res.feature = strongest_map(f.acts[0], o.strongest);
  res.predicted = top_class(f.probs, 0);
  res.clean_probs.assign(f.probs.f32(), f.probs.f32() + f.probs.numel());
  res.true_class = img.label >= 0 ? img.label : res.predicted;
  // load_images lists the files first, then the data-set samples.
  res.label_source = img.label < 0                                         ? "predicted"
                     : index < static_cast<int64_t>(o.images.files.size()) ? "given"
                                                                           : "dataset";
  const MapSize ms = map_size(f.acts[0].shape());
  const int64_t per = static_cast<int64_t>(ms.h) * ms.w;
  res.self = ProjectRequest{res.feature,
                            strongest_unit(f.acts[0].f32() + res.feature * per, ms.h, ms.w, index)};
  OcclusionSpec spec;
  spec.size = r.size, spec.stride = r.stride, spec.act = r.layer.act, spec.feature = res.feature;
  spec.true_class = res.true_class, spec.incremental = r.incremental, spec.batch = o.common.batch;
  res.maps = occlude(*s.net, res.view.x, r.fill, spec);
  return res;
}

// The K other images' projections of map `feature`: the strongest hits over the mined data set,
// else the other images given (each at its strongest unit of the map).
struct Others {
  std::string source;
  std::vector<int64_t> index;
  std::vector<std::vector<float>> proj;
};

// Where the other images come from: a data set mined once for every map of the layer, or (when
// no data set was named and the config's cannot be opened) the other images given.
class OtherImages {
 public:
  OtherImages(const OcclusionOptions& o, Session& s, const FeatureLayer& L) : o_(o), s_(s), L_(L) {
    if (o.others == 0) return;
    try {
      ds_ = open_session_data(s, o.others_data, o.others_limit);
      check_k_fits(o.others, *ds_);
    } catch (const std::exception&) {
      if (!o.others_data.empty()) throw;  // asked for by name: its error is the answer
      ds_.reset();
    }
  }
  std::string source() const { return ds_ ? ds_->source() : "the other images given"; }
  // Mines the data set (before the first image; nothing when the given images serve).
  // Mines one hit more than asked, so that an image analysed as a sample of this data set can be
  // left out of its own others.
  void mine() {
    if (ds_)
      tops_ =
          mine_topk(s_, *ds_, {L_}, static_cast<int>(std::min<int64_t>(o_.others + 1, ds_->size())),
                    o_.common.batch);
  }
  Others get(int feature, int64_t self, const std::vector<AnalysisImage>& images,
             const Tensor& acts, const ProjectOptions& po) const {
    Others r;
    r.source = source();
    std::vector<ProjectRequest> req;
    if (ds_) {
      const AnalysisImage& me = images[self];
      for (const Hit& h : tops_[0].sorted(feature))
        if (static_cast<int>(req.size()) < o_.others &&
            !(me.dataset == ds_->source() && h.image == me.sample))
          req.push_back(ProjectRequest{feature, h});
    } else {
      const MapSize ms = map_size(acts.shape());
      const int64_t F = acts.dim(1), per = static_cast<int64_t>(ms.h) * ms.w;
      for (int64_t j = 0; j < acts.dim(0); ++j)
        if (j != self)
          req.push_back(ProjectRequest{
              feature, strongest_unit(acts.f32() + (j * F + feature) * per, ms.h, ms.w, j)});
      std::stable_sort(req.begin(), req.end(),
                       [](const ProjectRequest& a, const ProjectRequest& b) {
                         return a.hit.value > b.hit.value;
                       });
      if (static_cast<int>(req.size()) > o_.others) req.resize(o_.others);
    }
    for (const ProjectRequest& q : req) r.index.push_back(q.hit.image);
    const std::unique_ptr<Dataset> given = ds_ ? nullptr : images_dataset(s_, images);
    r.proj = project_full(s_, ds_ ? *ds_ : *given, L_, req, po, o_.common.batch);
    return r;
  }

 private:
  const OcclusionOptions& o_;
  Session& s_;
  const FeatureLayer& L_;
  std::unique_ptr<Dataset> ds_;
  std::vector<TopK> tops_;
};

hsize_t hs(size_t v) {
  return static_cast<hsize_t>(v);
}

void write_dump(const std::string& path, const OcclusionOptions& o, const Resolved& r,
                const Session& s, const AnalysisImage& img, const ImageResult& res,
                const std::vector<float>& self_proj, const Others& others) {
  using namespace h5;
  const Shape& in = s.net->input_chw();
  const hsize_t C = hs(in[0]), H = hs(in[1]), W = hs(in[2]);
  const hsize_t gy = hs(res.maps.ys.size()), gx = hs(res.maps.xs.size());
  std::vector<float> oproj;
  for (const auto& p : others.proj) oproj.insert(oproj.end(), p.begin(), p.end());
  write_file_atomically(path, [&](hid_t f) {
    write_attr_str(f, "analysis", "occlusion");
    write_attr_str(f, "checkpoint", s.checkpoint);
    write_attr_str(f, "image", img.source);
    write_attr_i64(f, "label", res.true_class);
    write_attr_str(f, "label_source", res.label_source);
    write_attr_i64(f, "predicted", res.predicted);
    write_attr_str(f, "layer", r.layer.name);
    write_attr_i64(f, "feature", res.feature);
    write_attr_str(f, "strongest", o.strongest);
    write_attr_i64(f, "size", r.size);
    write_attr_i64(f, "stride", r.stride);
    write_attr_str(f, "fill", r.fill_desc);
    write_attr_str(f, "method", r.incremental ? "incremental" : "full");
    write_attr_str(f, "rule", "deconv");
    write_attr_str(f, "others_source", others.source);
    write_array(f, "ys", H5T_STD_I32LE, H5T_NATIVE_INT32, {gy}, res.maps.ys.data());
    write_array(f, "xs", H5T_STD_I32LE, H5T_NATIVE_INT32, {gx}, res.maps.xs.data());
    write_array(f, "map_sum", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {gy, gx}, res.maps.map_sum.data());
    write_array(f, "p_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {gy, gx}, res.maps.p_true.data());
    write_array(f, "top_class", H5T_STD_I32LE, H5T_NATIVE_INT32, {gy, gx}, res.maps.top.data());
    write_array(f, "top_prob", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {gy, gx}, res.maps.top_p.data());
    write_array(f, "clean_probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                {hs(res.clean_probs.size())}, res.clean_probs.data());
    write_array(f, "pixels", H5T_STD_U8LE, H5T_NATIVE_UINT8, {C, H, W}, res.view.pixels.data());
    write_array(f, "projection", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {C, H, W}, self_proj.data());
    if (others.proj.empty()) return;
    write_array(f, "others_index", H5T_STD_I64LE, H5T_NATIVE_INT64, {hs(others.index.size())},
                others.index.data());
    write_array(f, "others_projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                {hs(others.proj.size()), C, H, W}, oproj.data());
  });
}

// The position where the true class is least likely: the one panel (a) shows.
size_t worst_position(const OcclusionMaps& m) {
  return static_cast<size_t>(std::min_element(m.p_true.begin(), m.p_true.end()) - m.p_true.begin());
}

// Fig. 7's panels for one image, left to right: (a) the image with the square at the position
// where the true class is least likely, (b) the map's summed activity, (c) its projection in this
// image beside its projections in the others, (d) P(true class), (e) the top class.
Image occlusion_figure(const Session& s, const Resolved& r, const ImageResult& res,
                       const std::vector<float>& self_proj, const Others& others,
                       const std::vector<std::string>& names, const std::string& title) {
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  const int zoom = std::max(1, (160 + H - 1) / H);
  const OcclusionMaps& m = res.maps;
  const int gy = static_cast<int>(m.ys.size()), gx = static_cast<int>(m.xs.size());
  const int cell = std::max(1, 160 / std::max(gy, gx));
  const size_t worst = worst_position(m);
  Image a = to_rgb(display_patch(res.view.pixels.data(), C, H, W, zoom));
  const int sy = m.ys[worst / gx], sx = m.xs[worst % gx];
  const std::vector<float> mean = view_mean(s);
  for (int y = sy * zoom; y < (sy + r.size) * zoom; ++y)  // the square as the net saw it
    for (int x = sx * zoom; x < (sx + r.size) * zoom; ++x)
      for (int k = 0; k < 3; ++k) {
        const size_t o = (static_cast<size_t>(C == 3 ? k : 0) * H + y / zoom) * W + x / zoom;
        const float v = r.fill[o] / (s.norm.inv_std[C == 3 ? k : 0] * s.norm.scale) + mean[o];
        a.at(y, x, k) = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
  draw_rect(a, sx * zoom, sy * zoom, r.size * zoom, r.size * zoom, Rgb{255, 0, 0}, 2);
  float lo = m.map_sum[0], hi = m.map_sum[0];
  for (float v : m.map_sum) lo = std::min(lo, v), hi = std::max(hi, v);
  Image b = hstack({heatmap(m.map_sum.data(), gy, gx, lo, hi, cell), colour_bar(lo, hi, gy * cell)},
                   {}, 4);
  std::vector<Image> proj{to_rgb(display_projection(self_proj.data(), C, H, W, zoom))};
  draw_rect(proj[0], 0, 0, proj[0].width, proj[0].height, Rgb{0, 0, 0}, 2);
  for (const auto& p : others.proj) proj.push_back(display_projection(p.data(), C, H, W, zoom));
  Image c = hstack(proj, {}, 4);
  Image d = hstack(
      {heatmap(m.p_true.data(), gy, gx, 0.f, 1.f, cell), colour_bar(0.f, 1.f, gy * cell)}, {}, 4);
  std::vector<int> seen(m.top.begin(), m.top.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::vector<std::string> fig_names;
  for (const auto& n : names) fig_names.push_back(figure_text(n));
  Image e = hstack({category_map(m.top.data(), gy, gx, cell), legend(seen, fig_names)}, {}, 4);
  const std::string map = r.layer.name + " map " + std::to_string(res.feature);
  Image row =
      hstack({a, b, c, d, e},
             {"(a) " + figure_text(names[res.true_class]), "(b) " + map + " activity",
              "(c) projections: this image, " + std::to_string(others.proj.size()) + " others",
              "(d) p(true class)", "(e) most probable class"},
             12);
  return vstack({titled(blank_image(1, 1, 3, 255), title), row}, 4);
}

std::string image_title(const AnalysisImage& img, const Resolved& r, const ImageResult& res,
                        const std::vector<std::string>& names) {
  return figure_text(img.name) + "  true class: " + figure_text(names[res.true_class]) + " (" +
         res.label_source + ")  square " + std::to_string(r.size) + " px stride " +
         std::to_string(r.stride) + "  " + std::to_string(res.maps.p_true.size()) + " positions";
}

}  // namespace

void run_occlusion(const OcclusionOptions& o) {
  Session s =
      open_session(o.common.checkpoint, o.common.config, backend::resolve_device(o.common.device));
  const Resolved r = resolve(o, s);
  const std::vector<AnalysisImage> images = load_images(s, o.images);
  const std::vector<std::string> names = class_names(s, o.common.classes);
  OtherImages other(o, s, r.layer);
  fs::create_directories(o.common.out);
  other.mine();
  const std::unique_ptr<Dataset> given = images_dataset(s, images);
  Tensor views(Shape{static_cast<int64_t>(images.size()), s.net->input_chw()[0],
                     s.net->input_chw()[1], s.net->input_chw()[2]});
  for (size_t i = 0; i < images.size(); ++i) {
    const NetView v = net_view(s, images[i].src.data());
    std::copy(v.x.begin(), v.x.end(), views.f32() + i * v.x.size());
  }
  const Tensor acts =
      std::move(forward_host(s, views, {r.layer.act}, false, o.common.batch).acts[0]);
  const ProjectOptions po;
  Progress progress("occlusion", static_cast<int64_t>(images.size()));
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageResult res = analyze_image(o, s, r, images[i], static_cast<int64_t>(i));
    const std::vector<float> self = project_full(s, *given, r.layer, {res.self}, po, 1)[0];
    const Others others = other.get(res.feature, static_cast<int64_t>(i), images, acts, po);
    const std::string base = o.common.out + "/" + images[i].name + "_occlusion";
    write_dump(base + ".h5", o, r, s, images[i], res, self, others);
    write_png(base + ".png", occlusion_figure(s, r, res, self, others, names,
                                              image_title(images[i], r, res, names)));
    progress.update(static_cast<int64_t>(i + 1));
    std::printf("%s.h5, %s.png (%s map %d, %zu positions, %s)\n", base.c_str(), base.c_str(),
                r.layer.name.c_str(), res.feature, res.maps.p_true.size(),
                r.incremental ? "incremental" : "full");
  }
  progress.finish();
}

}  // namespace zf
