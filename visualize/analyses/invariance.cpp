// zf_analyze invariance (see invariance.h): the sweeps' options, the source transforms, the
// batched forward passes and distances, and the CSV, HDF5 and figure (Fig. 5) of each image.
#include "visualize/analyses/invariance.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/check.h"
#include "core/io/h5io.h"
#include "train/cli.h"
#include "train/progress.h"
#include "visualize/analyses/figure.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

constexpr Transform kTransforms[] = {Transform::Translate, Transform::Scale, Transform::Rotate};
constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kMaxSteps = 10000;  // per sweep: more is a typo, and would take hours

// The paper's sweeps (translation in pixels of a 224 input) and ANALYSES.md's steps.
struct Defaults {
  double lo, hi, step;
};
Defaults paper_defaults(Transform t) {
  switch (t) {
    case Transform::Translate:
      return {-60, 60, 1};
    case Transform::Scale:
      return {1, 1.8, 0.02};
    default:
      return {0, 350, 5};
  }
}

double identity_amount(Transform t) {
  return t == Transform::Scale ? 1.0 : 0.0;
}

Transform transform_of(const std::string& name, const std::string& what) {
  for (Transform t : kTransforms)
    if (name == transform_name(t)) return t;
  throw CliError(what + ": unknown transform '" + name + "' (translate, scale, rotate)");
}

double parse_number(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw CliError(what + ": '" + text + "' is not a number");
  return v;
}

// "NAME=VALUE" items of one option, by transform; a name given twice or not swept is an error.
std::map<Transform, std::string> settings(const std::vector<std::string>& items, const char* opt,
                                          const std::set<Transform>& swept) {
  std::map<Transform, std::string> out;
  for (const std::string& item : items) {
    const std::string what = std::string(opt) + " " + item;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw CliError(what + ": expected NAME=VALUE");
    const Transform t = transform_of(item.substr(0, eq), what);
    if (!out.emplace(t, item.substr(eq + 1)).second)
      throw CliError(what + ": " + transform_name(t) + " given twice");
    if (!swept.count(t))
      throw CliError(what + ": " + transform_name(t) + " is not among --transform");
  }
  return out;
}

// The range LO:HI of one --range item, checked.
void parse_range(const std::string& value, Transform t, const std::string& what, Sweep& sw) {
  const size_t colon = value.find(':');
  if (colon == std::string::npos) throw CliError(what + ": expected NAME=LO:HI");
  sw.lo = parse_number(value.substr(0, colon), what);
  sw.hi = parse_number(value.substr(colon + 1), what);
  if (sw.lo > sw.hi) throw CliError(what + ": LO is above HI");
  if (t == Transform::Scale && sw.lo <= 0) throw CliError(what + ": a scale must be > 0");
}

std::string number(double v) {
  return strprintf("%.4g", v);
}

const char* unit_name(Transform t) {
  switch (t) {
    case Transform::Translate:
      return "input px";
    case Transform::Scale:
      return "ratio";
    default:
      return "degrees";
  }
}

// One transform's sweep: the paper's defaults (translation scaled from 224 to the input side)
// unless --range / --steps give values, which are taken as they are.
Sweep make_sweep(Transform t, const std::string* range, const std::string* step, int input_side) {
  const Defaults d = paper_defaults(t);
  const double unit = t == Transform::Translate ? input_side / 224.0 : 1.0;
  Sweep sw;
  sw.transform = t;
  sw.lo = d.lo * unit, sw.hi = d.hi * unit, sw.step = d.step * unit;
  const std::string name = transform_name(t);
  if (range) parse_range(*range, t, "--range " + name + "=" + *range, sw);
  if (step) {
    const std::string what = "--steps " + name + "=" + *step;
    sw.step = parse_number(*step, what);
    if (sw.step <= 0) throw CliError(what + ": the step must be > 0");
  }
  if ((sw.hi - sw.lo) / sw.step + 1 > kMaxSteps) {
    const std::string what = step    ? "--steps " + name + "=" + *step
                             : range ? "--range " + name + "=" + *range
                                     : name;
    throw CliError(strprintf("%s: %s:%s step %s is more than %lld steps", what.c_str(),
                             number(sw.lo).c_str(), number(sw.hi).c_str(), number(sw.step).c_str(),
                             static_cast<long long>(kMaxSteps)));
  }
  const std::string scaled =
      unit != 1.0 ? strprintf(" px at 224, times %d/224", input_side) : std::string();
  sw.origin =
      (range ? std::string("range given") : strprintf("paper's range %g:%g", d.lo, d.hi) + scaled) +
      ", " + (step ? std::string("step given") : strprintf("step %g", d.step) + scaled);
  return sw;
}

}  // namespace

const char* transform_name(Transform t) {
  switch (t) {
    case Transform::Translate:
      return "translate";
    case Transform::Scale:
      return "scale";
    default:
      return "rotate";
  }
}

std::vector<float> Sweep::amounts() const {
  const int64_t n = static_cast<int64_t>(std::floor((hi - lo) / step + 1e-9)) + 1;
  std::vector<float> a;
  const double id = identity_amount(transform);
  for (int64_t i = 0; i < n; ++i) {
    const double v = lo + static_cast<double>(i) * step;
    a.push_back(static_cast<float>(std::fabs(v - id) < 1e-6 * step ? id : v));
  }
  if (n < 2 && hi > lo) a.push_back(static_cast<float>(hi));
  return a;
}

std::vector<Sweep> parse_sweeps(const std::vector<std::string>& transforms,
                                const std::vector<std::string>& ranges,
                                const std::vector<std::string>& steps, int input_side) {
  if (transforms.empty()) throw CliError("--transform: no transform given");
  std::vector<Transform> order;
  std::set<Transform> swept;
  for (const std::string& name : transforms) {
    const Transform t = transform_of(name, "--transform " + name);
    if (!swept.insert(t).second) throw CliError("--transform " + name + ": given twice");
    order.push_back(t);
  }
  const auto r = settings(ranges, "--range", swept), s = settings(steps, "--steps", swept);
  std::vector<Sweep> out;
  for (Transform t : order) {
    const auto ri = r.find(t), si = s.find(t);
    out.push_back(make_sweep(t, ri == r.end() ? nullptr : &ri->second,
                             si == s.end() ? nullptr : &si->second, input_side));
  }
  return out;
}

namespace {

// The fully connected layers: parameters, no sliding window, a 2-D output.
}  // namespace

std::vector<FeatureLayer> invariance_layers(Net& net, const std::vector<std::string>& names) {
  std::set<std::string> seen;
  for (const std::string& n : names)
    if (!seen.insert(n).second) throw CliError("--layers " + n + ": given twice");
  if (!names.empty()) return feature_layers(net, names);
  const std::vector<FeatureLayer> convs = filtering_layers(net);
  ZF_CHECK(!convs.empty(), "the net has no conv layer: give --layers");
  const std::string fc = penultimate_fc(net);
  const std::string high = fc.empty() ? convs.back().name : fc;
  std::vector<FeatureLayer> out{convs.front()};
  if (high != convs.front().name) out.push_back(find_feature_layer(net, high));
  return out;
}

namespace {

// Where output pixel (y, x) of a transform takes its value from in the source: the inverse map,
// about the centre c. Multiples of 90 degrees use exact sines so that they move whole pixels.
struct InverseMap {
  Transform t;
  double amount, c, cs = 1, sn = 0;
  InverseMap(Transform tr, double a, int side) : t(tr), amount(a), c((side - 1) / 2.0) {
    if (t != Transform::Rotate) return;
    double deg = std::fmod(a, 360.0);
    if (deg < 0) deg += 360.0;
    if (deg == 0 || deg == 90 || deg == 180 || deg == 270) {
      const int q = static_cast<int>(deg) / 90;
      cs = q == 0 ? 1 : q == 2 ? -1 : 0;
      sn = q == 1 ? 1 : q == 3 ? -1 : 0;
    } else {
      cs = std::cos(deg * kPi / 180.0), sn = std::sin(deg * kPi / 180.0);
    }
  }
  void operator()(int y, int x, double* sy, double* sx) const {
    const double dy = y - c, dx = x - c;
    switch (t) {
      case Transform::Translate:
        *sy = y - amount, *sx = x;
        break;
      case Transform::Scale:
        *sy = c + dy / amount, *sx = c + dx / amount;
        break;
      default:  // counter-clockwise on screen (y points down)
        *sy = c + dx * sn + dy * cs, *sx = c + dx * cs - dy * sn;
    }
  }
};

}  // namespace

std::vector<uint8_t> transform_source(const Session& s, const uint8_t* src, Transform t,
                                      float amount) {
  const int S = source_side(s), C = source_channels(s), pad = s.cfg.data.transform.pad;
  ZF_CHECK(t != Transform::Scale || amount > 0, "scale %g: must be > 0", amount);
  ZF_CHECK(s.norm.mean.size() == static_cast<size_t>(C) * s.norm.h * s.norm.w,
           "the normalization's mean has %zu values for %dx%dx%d", s.norm.mean.size(), C, s.norm.h,
           s.norm.w);
  const InverseMap map(t, amount, S);
  std::vector<uint8_t> out(static_cast<size_t>(C) * S * S);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      double sy = 0, sx = 0;
      map(y, x, &sy, &sx);
      // Far outside is all fill; clamping keeps huge amounts from overflowing the int casts.
      sy = std::clamp(sy, -2.0, S + 1.0), sx = std::clamp(sx, -2.0, S + 1.0);
      const int y0 = static_cast<int>(std::floor(sy)), x0 = static_cast<int>(std::floor(sx));
      const double fy = sy - y0, fx = sx - x0;
      const double w[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
      for (int c = 0; c < C; ++c) {
        const uint8_t* plane = src + static_cast<size_t>(c) * S * S;
        const double fill = std::clamp<double>(
            std::round(
                s.norm.mean[(static_cast<size_t>(c) * s.norm.h + pad + y) * s.norm.w + pad + x]),
            0, 255);
        double v = 0;
        for (int k = 0; k < 4; ++k) {
          const int yy = y0 + k / 2, xx = x0 + k % 2;
          const bool in = yy >= 0 && yy < S && xx >= 0 && xx < S;
          v += w[k] * (in ? plane[yy * S + xx] : fill);
        }
        out[(static_cast<size_t>(c) * S + y) * S + x] =
            static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  return out;
}

namespace {

// ||a - b|| and ||a/|a| - b/|b| || (a zero vector stays zero), in double.
void distances(const float* a, const float* b, int64_t n, float* raw, float* normalized) {
  double aa = 0, bb = 0, d = 0;
  for (int64_t i = 0; i < n; ++i) {
    aa += static_cast<double>(a[i]) * a[i], bb += static_cast<double>(b[i]) * b[i];
    d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  }
  const double ia = aa > 0 ? 1 / std::sqrt(aa) : 0, ib = bb > 0 ? 1 / std::sqrt(bb) : 0;
  double dn = 0;
  for (int64_t i = 0; i < n; ++i) {
    // = a ia - b ib, written so that a == b gives exactly 0 even when contracted to an FMA.
    const double e = (static_cast<double>(a[i]) - b[i]) * ia + b[i] * (ia - ib);
    dn += e * e;
  }
  *raw = static_cast<float>(std::sqrt(d));
  *normalized = static_cast<float>(std::sqrt(dn));
}

// The net's input for a batch of views.
Tensor views(const Session& s, const AnalysisImage& img, Transform t, const float* amounts,
             int64_t b) {
  const Shape& in = s.net->input_chw();
  Tensor x(Shape{b, in[0], in[1], in[2]});
  const int64_t per = in[0] * in[1] * in[2];
  for (int64_t i = 0; i < b; ++i) {
    const std::vector<uint8_t> src = transform_source(s, img.src.data(), t, amounts[i]);
    const NetView v = net_view(s, src.data());
    std::copy(v.x.begin(), v.x.end(), x.f32() + i * per);
  }
  return x;
}

// Rows n0 .. n0+b-1 of the result from one pass whose row 0 is the original and rows 1..b the
// transformed views.
void record(InvarianceResult& r, const Forward& f, int64_t n0, int64_t b) {
  const size_t L = f.acts.size();
  const int64_t K = f.probs.dim(1);
  for (int64_t i = 1; i <= b; ++i) {
    const int64_t n = n0 + i - 1;
    for (size_t l = 0; l < L; ++l) {
      const int64_t per = f.acts[l].numel() / (b + 1);
      distances(f.acts[l].f32(), f.acts[l].f32() + i * per, per, &r.distance[n * L + l],
                &r.distance_normalized[n * L + l]);
    }
    r.p_true[n] = f.probs.f32()[i * K + r.label];
    r.top_class[n] = top_class(f.probs, i);
    r.top_prob[n] = f.probs.f32()[i * K + r.top_class[n]];
  }
}

}  // namespace

// The original goes through the net in every pass beside its transforms (so a pass holds at most
// batch - 1 of them): BLAS results depend on the batch size in their last bits, and this way both
// sides of a distance come from the same arithmetic and the identity amount gives exactly 0.
InvarianceResult invariance_sweep(Session& s, const AnalysisImage& img, Transform t,
                                  const std::vector<float>& amounts,
                                  const std::vector<FeatureLayer>& layers, int batch,
                                  const std::function<void(int64_t)>& done) {
  ZF_CHECK(!amounts.empty() && !layers.empty(), "invariance: no amounts or no layers");
  ZF_CHECK(batch >= 1, "batch %d must be >= 1", batch);
  std::vector<int> acts;
  for (const FeatureLayer& L : layers) acts.push_back(L.act);
  InvarianceResult r;
  r.amounts = amounts;
  r.label_predicted = img.label < 0;
  const int64_t N = static_cast<int64_t>(amounts.size()), per_pass = std::max(batch - 1, 1);
  r.distance.resize(N * layers.size());
  r.distance_normalized.resize(N * layers.size());
  r.p_true.resize(N), r.top_prob.resize(N), r.top_class.resize(N);
  for (int64_t n0 = 0; n0 < N; n0 += per_pass) {
    const int64_t b = std::min(per_pass, N - n0);
    std::vector<float> a{static_cast<float>(identity_amount(t))};
    a.insert(a.end(), amounts.begin() + n0, amounts.begin() + n0 + b);
    const Forward f = forward_host(s, views(s, img, t, a.data(), b + 1), acts, true, b + 1);
    if (n0 == 0) r.label = r.label_predicted ? top_class(f.probs, 0) : img.label;
    ZF_CHECK(r.label < f.probs.dim(1), "%s: label %d outside the net's %lld classes",
             img.source.c_str(), r.label, static_cast<long long>(f.probs.dim(1)));
    record(r, f, n0, b);
    if (done) done(b);
  }
  return r;
}

namespace {

// Everything a reader of the outputs needs to know about how they were made, as (key, value): the
// CSV's comment lines and the HDF5 file's root attributes.
using Notes = std::vector<std::pair<std::string, std::string>>;

Notes notes(const Session& s, const AnalysisImage& img, const InvarianceResult& r,
            const std::string& label_name, const std::vector<FeatureLayer>& layers,
            const std::vector<Sweep>& sweeps) {
  const int S = source_side(s);
  const Shape& in = s.net->input_chw();
  std::string names, acts;
  for (const FeatureLayer& L : layers) {
    names += (names.empty() ? "" : ",") + L.name;
    acts += (acts.empty() ? "" : ",") + s.net->layer(L.act).name();
  }
  Notes n{{"checkpoint", s.checkpoint},
          {"image", img.source},
          {"label", std::to_string(r.label) + " (" + label_name + ")"},
          {"label_source", r.label_predicted ? "predicted: the top class of the untransformed image"
                                             : "given (--label or the data set's label)"},
          {"layers", names},
          {"features", acts + ": the layers' shown (rectified) outputs, flattened"},
          {"distance", "Euclidean ||f(x) - f(T x)||"},
          {"distance_normalized", "Euclidean between f/||f|| vectors (a zero vector stays zero)"},
          {"applied_to", strprintf("the 8-bit %dx%d source image, before the padding (%d) and the "
                                   "final crop to the %lldx%lld input",
                                   S, S, s.cfg.data.transform.pad, static_cast<long long>(in[1]),
                                   static_cast<long long>(in[2]))},
          {"interpolation", "bilinear about the image centre ((S-1)/2, (S-1)/2)"},
          {"fill",
           "the data mean at that pixel of the padded image, rounded to 8 bits, where the "
           "source runs out"},
          {"translate_axis", "vertical, in input pixels, positive moves the content down"},
          {"scale_units", "ratio about the centre, > 1 zooms in"},
          {"rotate_units", "degrees counter-clockwise about the centre"}};
  for (const Sweep& sw : sweeps)
    n.push_back({std::string("sweep_") + transform_name(sw.transform),
                 strprintf("%s:%s step %s %s (%s)", number(sw.lo).c_str(), number(sw.hi).c_str(),
                           number(sw.step).c_str(), unit_name(sw.transform), sw.origin.c_str())});
  return n;
}

// Writes through a temporary name, renamed when complete (as the HDF5 files are).
void write_csv(const std::string& path, const Notes& n, const std::vector<Sweep>& sweeps,
               const std::vector<InvarianceResult>& res, const std::vector<FeatureLayer>& layers) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    ZF_CHECK(f.good(), "%s: cannot write", tmp.c_str());
    f << "# zf_analyze invariance (Zeiler & Fergus Fig. 5)\n";
    for (const auto& [k, v] : n) f << "# " << k << ": " << v << "\n";
    f << "transform,amount";
    for (const FeatureLayer& L : layers)
      f << "," << L.name << "_distance," << L.name << "_distance_normalized";
    f << ",p_true,top_class,top_prob\n";
    const size_t nl = layers.size();
    for (size_t t = 0; t < sweeps.size(); ++t)
      for (size_t i = 0; i < res[t].amounts.size(); ++i) {
        f << transform_name(sweeps[t].transform) << "," << strprintf("%.6g", res[t].amounts[i]);
        for (size_t l = 0; l < nl; ++l)
          f << strprintf(",%.7g,%.7g", res[t].distance[i * nl + l],
                         res[t].distance_normalized[i * nl + l]);
        f << strprintf(",%.7g,%d,%.7g\n", res[t].p_true[i], res[t].top_class[i],
                       res[t].top_prob[i]);
      }
    f.flush();
    ZF_CHECK(f.good(), "%s: write failed", tmp.c_str());
  }
  h5::rename_durably(tmp, path);
}

void write_h5(const std::string& path, const Notes& n, const InvarianceResult& first,
              const std::vector<Sweep>& sweeps, const std::vector<InvarianceResult>& res,
              const std::vector<FeatureLayer>& layers) {
  using namespace h5;
  h5::write_file_atomically(path, [&](hid_t f) {
    write_attr_str(f, "format", "zfnet-invariance");
    for (const auto& [k, v] : n) write_attr_str(f, k.c_str(), v);
    write_attr_i64(f, "label_index", first.label);
    write_attr_i64(f, "label_predicted", first.label_predicted);
    std::vector<std::string> names;
    for (const FeatureLayer& L : layers) names.push_back(L.name);
    write_strings(f, "layer_names", names);
    for (size_t t = 0; t < sweeps.size(); ++t) {
      const InvarianceResult& r = res[t];
      H5Handle g(make_group(f, transform_name(sweeps[t].transform)), H5Gclose);
      write_attr_f64(g, "lo", sweeps[t].lo);
      write_attr_f64(g, "hi", sweeps[t].hi);
      write_attr_f64(g, "step", sweeps[t].step);
      write_attr_str(g, "units", unit_name(sweeps[t].transform));
      write_attr_str(g, "origin", sweeps[t].origin);
      const hsize_t N = r.amounts.size(), L = layers.size();
      write_array(g, "amount", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {N}, r.amounts.data());
      write_array(g, "distance", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {N, L}, r.distance.data());
      write_array(g, "distance_normalized", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {N, L},
                  r.distance_normalized.data());
      write_array(g, "p_true", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {N}, r.p_true.data());
      write_array(g, "top_class", H5T_STD_I32LE, H5T_NATIVE_INT32, {N}, r.top_class.data());
      write_array(g, "top_prob", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {N}, r.top_prob.data());
    }
  });
}

// Five frames spread evenly over the sweep (fewer when it has fewer amounts).
std::vector<size_t> frame_indices(size_t n) {
  std::vector<size_t> idx;
  for (size_t j = 0; j < 5; ++j) {
    const size_t i = n > 1 ? (j * (n - 1) + 2) / 4 : 0;
    if (idx.empty() || idx.back() != i) idx.push_back(i);
  }
  return idx;
}

// One row of Fig. 5: frames, the distance at each layer, P(true class), against the amount.
Image figure_row(const Session& s, const AnalysisImage& img, const Sweep& sw,
                 const InvarianceResult& r, const std::vector<FeatureLayer>& layers) {
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  const int zoom = std::max(1, (96 + H - 1) / H);
  std::vector<Image> panels;
  std::vector<std::string> titles;
  for (size_t i : frame_indices(r.amounts.size())) {
    const std::vector<uint8_t> src =
        transform_source(s, img.src.data(), sw.transform, r.amounts[i]);
    panels.push_back(display_patch(net_view(s, src.data()).pixels.data(), C, H, W, zoom));
    titles.push_back(strprintf("%.3g", r.amounts[i]));
  }
  const size_t nl = layers.size();
  for (size_t l = 0; l < nl; ++l) {
    std::vector<float> d;
    for (size_t i = 0; i < r.amounts.size(); ++i) d.push_back(r.distance[i * nl + l]);
    panels.push_back(line_plot(r.amounts, {Series{d, category_colour(0)}},
                               figure_text(layers[l].name + " distance"), 200, 110));
    titles.emplace_back();
  }
  panels.push_back(line_plot(r.amounts, {Series{r.p_true, category_colour(3)}},
                             r.label_predicted ? "p(predicted class)" : "p(true class)", 200, 110,
                             0.f, 1.f));
  titles.emplace_back();
  return titled(hstack(panels, titles),
                strprintf("%s (%s)", transform_name(sw.transform), unit_name(sw.transform)));
}

// One image: its sweeps, then its CSV, HDF5 file and figure.
void write_image(Session& s, const InvarianceOptions& o, const AnalysisImage& img,
                 const std::vector<Sweep>& sweeps, const std::vector<FeatureLayer>& layers,
                 const std::vector<std::string>& classes) {
  int64_t total = 0, done = 0;
  for (const Sweep& sw : sweeps) total += static_cast<int64_t>(sw.amounts().size());
  Progress progress(img.name + " invariance", total);
  std::vector<InvarianceResult> res;
  for (const Sweep& sw : sweeps)
    res.push_back(invariance_sweep(s, img, sw.transform, sw.amounts(), layers, o.common.batch,
                                   [&](int64_t n) { progress.update(done += n); }));
  progress.finish();
  const InvarianceResult& r0 = res.front();
  const std::string label_name = classes.at(r0.label);
  const Notes n = notes(s, img, r0, label_name, layers, sweeps);
  const std::string base = o.common.out + "/" + img.name + "_invariance";
  write_csv(base + ".csv", n, sweeps, res, layers);
  write_h5(base + ".h5", n, r0, sweeps, res, layers);
  std::vector<Image> rows;
  for (size_t t = 0; t < sweeps.size(); ++t)
    rows.push_back(figure_row(s, img, sweeps[t], res[t], layers));
  const std::string title = figure_text(img.name + ": invariance, label " +
                                        (r0.label_predicted ? "predicted " : "") + label_name);
  write_png(base + ".png", titled(vstack(rows, 12), title));
  for (const char* ext : {".csv", ".h5", ".png"}) std::printf("%s%s\n", base.c_str(), ext);
}

}  // namespace

// Every input is checked (sweeps, layers, images and their names, class names) before --out is
// created, so that a mistake costs no forward pass and leaves nothing behind.
void run_invariance(const InvarianceOptions& o) {
  Session s =
      open_session(o.common.checkpoint, o.common.config, backend::resolve_device(o.common.device));
  const std::vector<Sweep> sweeps =
      parse_sweeps(o.transforms, o.ranges, o.steps, static_cast<int>(s.net->input_chw()[1]));
  const std::vector<FeatureLayer> layers = invariance_layers(*s.net, o.layers);
  const std::vector<AnalysisImage> images = load_images(s, o.images);
  const std::vector<std::string> classes = class_names(s, o.common.classes);
  fs::create_directories(o.common.out);
  for (const AnalysisImage& img : images) write_image(s, o, img, sweeps, layers, classes);
}

}  // namespace zf
