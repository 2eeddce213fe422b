// The analyses' shared inputs and forward passes (see common.h).
#include "visualize/analyses/common.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "train/cli.h"
#include "train/image_io.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

// One source image as a data set, so that view_sample prepares it exactly as training did.
class OneImage : public Dataset {
 public:
  OneImage(const uint8_t* chw, int c, int side) : chw_(chw), c_(c), side_(side) {}
  int64_t size() const override { return 1; }
  int channels() const override { return c_; }
  int height() const override { return side_; }
  int width() const override { return side_; }
  int num_classes() const override { return 1; }
  int32_t label(int64_t) const override { return 0; }
  void image(int64_t, uint8_t* chw) const override { std::copy(chw_, chw_ + image_bytes(), chw); }
  std::string source() const override { return "image"; }

 private:
  const uint8_t* chw_;
  int c_, side_;
};

class SourceImages : public Dataset {
 public:
  SourceImages(const std::vector<AnalysisImage>& images, int c, int side)
      : images_(images), c_(c), side_(side) {}
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int channels() const override { return c_; }
  int height() const override { return side_; }
  int width() const override { return side_; }
  int num_classes() const override { return 1; }
  int32_t label(int64_t i) const override { return std::max(images_[i].label, 0); }
  void image(int64_t i, uint8_t* chw) const override {
    std::copy(images_[i].src.begin(), images_[i].src.end(), chw);
  }
  std::string source() const override { return images_.empty() ? "" : images_[0].source; }

 private:
  const std::vector<AnalysisImage>& images_;
  int c_, side_;
};

int num_classes(const Net& net) {
  const Shape& in = net.input_chw();
  Shape s{1, in[0], in[1], in[2]};
  for (int i = 0; i < net.size(); ++i) s = net.layer(i).output_shape(s);
  return static_cast<int>(s[1]);
}

std::vector<uint8_t> hwc_to_chw(const Image& img) {
  std::vector<uint8_t> chw(img.pixels.size());
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < img.channels; ++c) chw[c * plane + p] = img.pixels[p * img.channels + c];
  return chw;
}

// Outputs are named after the images: two of the same name would overwrite each other.
void check_unique_names(const std::vector<AnalysisImage>& images) {
  std::map<std::string, std::string> seen;
  for (const AnalysisImage& a : images) {
    const auto [it, fresh] = seen.emplace(a.name, a.source);
    if (!fresh && it->second == a.source) throw CliError(a.source + ": given twice");
    if (!fresh)
      throw CliError(a.source + " and " + it->second + " share the name '" + a.name +
                     "': their outputs would overwrite each other");
  }
}

}  // namespace

int source_side(const Session& s) {
  return s.norm.h - 2 * s.cfg.data.transform.pad;
}
int source_channels(const Session& s) {
  return s.norm.c;
}

std::vector<AnalysisImage> load_images(const Session& s, const ImageSelection& sel) {
  const int K = num_classes(*s.net), S = source_side(s), C = source_channels(s);
  const size_t n_files = sel.files.size();
  if (!sel.labels.empty() && n_files == 0)
    throw CliError("--label: only for --image files (--samples carry their data set's labels)");
  ZF_CHECK(sel.labels.empty() || sel.labels.size() == n_files || sel.labels.size() == 1,
           "--label: %zu labels for %zu images (give one per image, or one for all)",
           sel.labels.size(), n_files);
  for (int l : sel.labels)
    ZF_CHECK(l >= 0 && l < K, "--label %d: outside the net's classes 0..%d", l, K - 1);
  std::vector<AnalysisImage> out;
  for (size_t i = 0; i < n_files; ++i) {
    AnalysisImage a;
    a.source = sel.files[i];
    a.name = fs::path(sel.files[i]).stem().string();
    if (!sel.labels.empty()) a.label = sel.labels[sel.labels.size() == 1 ? 0 : i];
    // The net's channels are the image's: a colour photo is not silently greyed for a grey net
    // (nor a grey one coloured), since the analysis would then be of another image.
    const Image img = decode_image_file(sel.files[i], 0);
    ZF_CHECK(img.channels == C, "%s: %s image, but the net takes %s images", sel.files[i].c_str(),
             img.channels == 3 ? "an RGB" : "a grey", C == 3 ? "RGB" : "grey (1-channel)");
    a.src = hwc_to_chw(resize_center_square(img, S));
    out.push_back(std::move(a));
  }
  if (!sel.samples.empty()) {
    const std::unique_ptr<Dataset> ds = open_session_data(s, sel.data, 0);
    for (int64_t i : sel.samples) {
      ZF_CHECK(i >= 0 && i < ds->size(), "--samples %lld: outside %s's 0..%lld",
               static_cast<long long>(i), ds->source().c_str(),
               static_cast<long long>(ds->size() - 1));
      AnalysisImage a;
      a.source = ds->source() + "#" + std::to_string(i);
      a.name = "sample" + std::to_string(i);
      a.dataset = ds->source();
      a.sample = i;
      a.label = ds->label(i);
      ZF_CHECK(a.label >= 0 && a.label < K, "%s: label %d outside the net's classes 0..%d",
               a.source.c_str(), a.label, K - 1);
      a.src.resize(ds->image_bytes());
      ds->image(i, a.src.data());
      out.push_back(std::move(a));
    }
  }
  ZF_CHECK(!out.empty(), "no images: give --image FILE... or --samples I,J,...");
  check_unique_names(out);
  return out;
}

std::unique_ptr<Dataset> images_dataset(const Session& s,
                                        const std::vector<AnalysisImage>& images) {
  return std::make_unique<SourceImages>(images, source_channels(s), source_side(s));
}

NetView net_view(const Session& s, const uint8_t* src) {
  const Shape& in = s.net->input_chw();
  const size_t n = static_cast<size_t>(in[0] * in[1] * in[2]);
  NetView v;
  v.x.resize(n);
  v.pixels.resize(n);
  const OneImage one(src, source_channels(s), source_side(s));
  view_sample(one, s.cfg.data.transform, s.norm, 0, kCenterView, v.x.data(), v.pixels.data());
  return v;
}

std::vector<float> view_mean(const Session& s) {
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), h = static_cast<int>(in[1]), w = static_cast<int>(in[2]);
  const int H = s.norm.h, W = s.norm.w, oy = (H - h) / 2, ox = (W - w) / 2;
  std::vector<float> m(static_cast<size_t>(C) * h * w);
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        m[(static_cast<size_t>(c) * h + y) * w + x] =
            s.norm.mean[(static_cast<size_t>(c) * H + oy + y) * W + ox + x];
  return m;
}

std::vector<std::string> class_names(const Session& s, const std::string& file) {
  const int K = num_classes(*s.net);
  std::vector<std::string> names;
  if (!file.empty()) {
    names = read_class_names(file);
    ZF_CHECK(static_cast<int>(names.size()) == K, "%s: %zu class names, the net has %d classes",
             file.c_str(), names.size(), K);
    return names;
  }
  if (static_cast<int>(s.meta.state.classes.size()) == K) return s.meta.state.classes;
  try {
    names = open_session_data(s, "", 1)->class_names();
  } catch (const std::exception&) {
    names.clear();  // the data set is not here: numbers will do
  }
  if (static_cast<int>(names.size()) != K) {
    names.clear();
    for (int k = 0; k < K; ++k) names.push_back(std::to_string(k));
  }
  return names;
}

Forward forward_host(Session& s, const Tensor& x, const std::vector<int>& acts, bool probs,
                     int batch) {
  ZF_CHECK(batch >= 1, "batch %d must be >= 1", batch);
  const int64_t N = x.dim(0);
  Net& net = *s.net;
  int last = probs ? net.size() - 1 : 0;
  for (int a : acts) last = std::max(last, a);
  Forward f;
  const size_t per = static_cast<size_t>(x.numel() / std::max<int64_t>(N, 1));
  for (int64_t n0 = 0; n0 < N; n0 += batch) {
    const int64_t b = std::min<int64_t>(batch, N - n0);
    Tensor xb(Shape{b, x.dim(1), x.dim(2), x.dim(3)});
    std::copy(x.f32() + n0 * per, x.f32() + (n0 + b) * per, xb.f32());
    RunState rs;
    rs.phase = Phase::Eval;
    const Pass pass = net.forward_to(xb.to(net.device()), last, rs);
    auto gather = [&](Tensor& all, const Tensor& part_dev) {
      const Tensor part = part_dev.to(Device::CPU);
      if (all.empty()) {
        Shape sh = part.shape();
        sh.d[0] = N;
        all = Tensor(sh);
      }
      const size_t row = static_cast<size_t>(part.numel() / b);
      std::copy(part.f32(), part.f32() + part.numel(), all.f32() + n0 * row);
    };
    if (probs) gather(f.probs, pass.probabilities());
    f.acts.resize(acts.size());
    for (size_t i = 0; i < acts.size(); ++i) gather(f.acts[i], pass.output(acts[i]));
  }
  return f;
}

std::string penultimate_fc(Net& net) {
  std::vector<std::string> fc;
  for (int i = 0; i < net.size(); ++i) {
    Geometry g;
    if (!net.layer(i).params().empty() && !net.layer(i).geometry(&g) && !net.layer(i).is_loss())
      fc.push_back(net.layer(i).name());
  }
  return fc.size() >= 2 ? fc[fc.size() - 2] : "";
}

std::vector<FeatureLayer> feature_layers(Net& net, const std::vector<std::string>& names) {
  std::vector<FeatureLayer> layers;
  for (const auto& n : names) layers.push_back(find_feature_layer(net, n));
  ZF_CHECK(!layers.empty(), "--layers: no layer given");
  return layers;
}

int top_class(const Tensor& probs, int64_t n) {
  const int64_t K = probs.dim(1);
  const float* p = probs.f32() + n * K;
  return static_cast<int>(std::max_element(p, p + K) - p);
}

std::string figure_text(const std::string& s) {
  std::string t;
  for (char ch : s) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (std::isalnum(u))
      t += static_cast<char>(std::tolower(u));
    else if (std::string(" -:./()+=,_%#<>").find(ch) != std::string::npos)
      t += ch;
    else
      t += '-';
  }
  return t;
}

}  // namespace zf
