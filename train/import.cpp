// zf_import (see import.h).
#include "train/import.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "core/io/safetensors.h"
#include "train/config.h"
#include "train/train_state.h"

namespace zf {

namespace {

struct NameMap {
  std::map<std::string, std::string> tensor_of;  // "conv1.weight" -> "features.0.weight"
  std::string avgpool_after;                     // adaptive_avgpool: the layer it follows
  int avgpool_h = 0, avgpool_w = 0;
};

NameMap read_map(const std::string& path) {
  NameMap m;
  if (path.empty()) return m;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    ZF_THROW("%s: cannot open the name map", path.c_str());
  } catch (const YAML::Exception& e) {
    ZF_THROW("%s: invalid YAML: %s", path.c_str(), e.what());
  }
  ZF_CHECK(root.IsMap(), "%s: the name map must be a YAML map of <layer>.<param>: <tensor>",
           path.c_str());
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node v = it->second;
    if (key == "adaptive_avgpool") {
      ZF_CHECK(v.IsMap() && v["after"] && v["after"].IsScalar() && v["size"] &&
                   v["size"].IsSequence() && v["size"].size() == 2 && v.size() == 2,
               "%s: adaptive_avgpool: expected {after: <layer>, size: [h, w]}", path.c_str());
      m.avgpool_after = v["after"].Scalar();
      try {
        m.avgpool_h = v["size"][0].as<int>();
        m.avgpool_w = v["size"][1].as<int>();
      } catch (const YAML::Exception&) {
        ZF_THROW("%s: adaptive_avgpool.size: expected two integers", path.c_str());
      }
      ZF_CHECK(m.avgpool_h >= 1 && m.avgpool_w >= 1, "%s: adaptive_avgpool.size must be >= 1",
               path.c_str());
      continue;
    }
    ZF_CHECK(key.find('.') != std::string::npos,
             "%s: key '%s': expected <layer>.<weight|bias> (or adaptive_avgpool)", path.c_str(),
             key.c_str());
    ZF_CHECK(v.IsScalar() && !v.Scalar().empty(), "%s: %s: expected a tensor name", path.c_str(),
             key.c_str());
    m.tensor_of[key] = v.Scalar();
  }
  return m;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (int i = 0; i < s.ndim; ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}


// The side of the padded image the normalization covers: what data.image_size (or the input,
// without a crop) and data.pad say.
void padded_size(const Config& cfg, const Net& net, int* h, int* w) {
  const TransformSpec& t = cfg.data.transform;
  const Shape& in = net.input_chw();
  if (cfg.data.image_size > 0) {
    *h = *w = cfg.data.image_size + 2 * t.pad;
  } else {
    ZF_CHECK(t.crop == 0,
             "%s: data.crop %d without data.image_size: set data.image_size to the side images "
             "are resized to before the crop (e.g. 256 for a 224 crop)",
             cfg.source.c_str(), t.crop);
    *h = static_cast<int>(in[1]), *w = static_cast<int>(in[2]);
  }
  ZF_CHECK(*h >= in[1] && *w >= in[2], "%s: the padded image (%dx%d) is smaller than the input",
           cfg.source.c_str(), *h, *w);
}

Normalizer make_import_normalizer(const ImportOptions& o, const Config& cfg, const Net& net) {
  Normalizer n;
  n.c = static_cast<int>(net.input_chw()[0]);
  padded_size(cfg, net, &n.h, &n.w);
  n.scale = o.scale;
  ZF_CHECK(std::isfinite(o.scale) && o.scale > 0.f, "--scale %g: must be > 0",
           static_cast<double>(o.scale));
  const size_t plane = static_cast<size_t>(n.h) * n.w;
  if (!o.pixel_mean.empty()) {
    ZF_CHECK(o.mean.empty(), "--pixel-mean and --mean do not go together");
    SafetensorsFile f(o.pixel_mean);
    ZF_CHECK(f.tensors().size() == 1, "%s: --pixel-mean expects one tensor [C, H, W], found %zu",
             o.pixel_mean.c_str(), f.tensors().size());
    const SafeTensor& t = f.tensors()[0];
    const std::vector<int64_t> want = {n.c, n.h, n.w};
    ZF_CHECK(t.shape == want, "%s: mean '%s' is %s, the config's padded image is [%d, %d, %d]",
             o.pixel_mean.c_str(), t.name.c_str(), t.shape_str().c_str(), n.c, n.h, n.w);
    n.mean = f.read_f32(t);
    for (float v : n.mean)
      ZF_CHECK(std::isfinite(v), "%s: the mean holds NaN or Inf", o.pixel_mean.c_str());
    n.inv_std.assign(n.c, 1.f);
    if (!o.std.empty()) {
      ZF_CHECK(static_cast<int>(o.std.size()) == n.c, "--std: %zu values for %d channels",
               o.std.size(), n.c);
      for (int c = 0; c < n.c; ++c) n.inv_std[c] = 1.f / (255.f * o.std[c]);
    }
    return n;
  }
  std::vector<float> mean = o.mean, std = o.std;
  if (mean.empty()) mean.assign(n.c, 0.f);
  if (std.empty()) std.assign(n.c, 1.f);
  ZF_CHECK(static_cast<int>(mean.size()) == n.c, "--mean: %zu values for the net's %d channels",
           mean.size(), n.c);
  ZF_CHECK(static_cast<int>(std.size()) == n.c, "--std: %zu values for the net's %d channels",
           std.size(), n.c);
  n.mean.resize(n.c * plane);
  n.inv_std.resize(n.c);
  for (int c = 0; c < n.c; ++c) {
    ZF_CHECK(std::isfinite(mean[c]), "--mean: %g is not a number", static_cast<double>(mean[c]));
    ZF_CHECK(std::isfinite(std[c]) && std[c] > 0.f, "--std %g: must be > 0",
             static_cast<double>(std[c]));
    // (p / 255 - mean) / std = (p - 255 mean) * 1 / (255 std): the loader's form, in pixel units.
    std::fill_n(n.mean.begin() + c * plane, plane, 255.f * mean[c]);
    n.inv_std[c] = 1.f / (255.f * std[c]);
  }
  return n;
}

}  // namespace

ImportResult import_weights(const ImportOptions& o) {
  const Config cfg = load_config(o.config);
  Net net = build_net(cfg.net);
  const NameMap map = read_map(o.map);
  SafetensorsFile file(o.weights);

  // The source net's adaptive average pooling is left out of the config: it must do nothing.
  if (!map.avgpool_after.empty()) {
    const int i = net.find(map.avgpool_after);
    ZF_CHECK(i >= 0, "%s: adaptive_avgpool.after: no layer '%s' in %s", o.map.c_str(),
             map.avgpool_after.c_str(), cfg.source.c_str());
    const Shape s = net.output_shape(i);
    ZF_CHECK(s.ndim == 4 && s[2] == map.avgpool_h && s[3] == map.avgpool_w,
             "%s: the source net's adaptive average pooling to %dx%d after %s is the identity only "
             "when %s gives %dx%d, but with the config's %lldx%lld input it gives %lldx%lld: "
             "change input: (torchvision's AlexNet: 224x224)",
             o.map.c_str(), map.avgpool_h, map.avgpool_w, map.avgpool_after.c_str(),
             map.avgpool_after.c_str(), map.avgpool_h, map.avgpool_w,
             static_cast<long long>(net.input_chw()[1]), static_cast<long long>(net.input_chw()[2]),
             static_cast<long long>(s.ndim == 4 ? s[2] : 1),
             static_cast<long long>(s.ndim == 4 ? s[3] : 1));
  }

  // Every parameter from its tensor, shapes and values checked.
  ImportResult res;
  std::set<std::string> taken, keys;
  for (auto& np : net.params()) {
    Param& p = *np.param;
    const std::string key = np.layer + "." + p.name;
    keys.insert(key);
    std::string tname = key;
    if (!o.map.empty()) {
      auto it = map.tensor_of.find(key);
      ZF_CHECK(it != map.tensor_of.end(), "%s: no entry for %s (the net's parameter)",
               o.map.c_str(), key.c_str());
      tname = it->second;
    }
    const SafeTensor* t = file.find(tname);
    if (!t) {
      std::string have;
      int shown = 0;
      for (const SafeTensor& x : file.tensors())
        if (!taken.count(x.name) && shown++ < 4) have += (have.empty() ? "" : ", ") + x.name;
      ZF_THROW("%s: missing tensor '%s' (for %s)%s%s", o.weights.c_str(), tname.c_str(),
               key.c_str(), have.empty() ? "" : "; not yet taken: ", have.c_str());
    }
    ZF_CHECK(!taken.count(tname), "%s: tensor '%s' is mapped to two parameters (%s is the second)",
             o.map.c_str(), tname.c_str(), key.c_str());
    std::vector<int64_t> want(p.value.shape().d, p.value.shape().d + p.value.ndim());
    ZF_CHECK(t->shape == want, "%s: tensor '%s' is %s %s, but %s in %s is %s", o.weights.c_str(),
             tname.c_str(), t->dtype.c_str(), t->shape_str().c_str(), key.c_str(),
             cfg.source.c_str(), shape_str(p.value.shape()).c_str());
    const std::vector<float> v = file.read_f32(*t);
    for (size_t i = 0; i < v.size(); ++i)
      ZF_CHECK(std::isfinite(v[i]), "%s: tensor '%s' holds %s at element %zu", o.weights.c_str(),
               tname.c_str(), std::isnan(v[i]) ? "NaN" : "Inf", i);
    Tensor host(p.value.shape());
    std::copy(v.begin(), v.end(), host.f32());
    p.value.copy_from(host);
    p.momentum = Tensor();  // none stored: a run started from it begins with zero momenta
    taken.insert(tname);
    ++res.tensors;
    res.values += static_cast<int64_t>(v.size());
  }
  for (const auto& kv : map.tensor_of)
    ZF_CHECK(keys.count(kv.first), "%s: %s: the net has no such parameter (its layers: see %s)",
             o.map.c_str(), kv.first.c_str(), cfg.source.c_str());
  for (const SafeTensor& t : file.tensors())
    if (!taken.count(t.name)) res.unused.push_back(t.name);
  if (!res.unused.empty() && !o.allow_unused)
    ZF_THROW("%s: tensor '%s' is left over: no parameter takes it (%zu left over; --allow-unused "
             "imports anyway)",
             o.weights.c_str(), res.unused[0].c_str(), res.unused.size());

  TrainState st;
  st.norm = make_import_normalizer(o, cfg, net);
  st.imported_from = o.weights;
  if (!o.classes.empty()) {
    st.classes = read_class_names(o.classes);
    const int64_t K = net.output_shape(net.size() - 1)[1];
    ZF_CHECK(static_cast<int64_t>(st.classes.size()) == K,
             "%s: %zu class names, the net has %lld outputs", o.classes.c_str(), st.classes.size(),
             static_cast<long long>(K));
  }
  save_run_checkpoint(o.out, net, cfg.text, st);
  return res;
}

}  // namespace zf
