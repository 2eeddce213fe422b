// The one parse of a config (see config.h). Errors carry the file and the key's path:
// "fashion.yaml: train.lr: must be > 0", "fashion.yaml: layers[3].kernal: unknown key (did you
// mean 'kernel'?)".
#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/check.h"
#include "core/keys.h"

namespace zf {

namespace {

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

// A YAML map whose keys are all checked: get() converts with the key's path in errors, finish()
// rejects the keys nobody asked for.
class Section {
 public:
  Section(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (node_ && !node_.IsMap() && !node_.IsNull())
      throw Error(path_ + ": must be a map, got " + node_kind(node_));
  }
  template <class T>
  T get(const char* key, T def) {
    const YAML::Node n = lookup(key);
    if (!n || n.IsNull()) return def;
    if (!n.IsScalar()) fail(key, std::string("expected a single value, got ") + node_kind(n));
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(key, "wrong type ('" + n.Scalar() + "')");
    }
  }
  std::vector<int> get_ints(const char* key) {
    const YAML::Node n = lookup(key);
    if (!n || n.IsNull()) return {};
    if (!n.IsSequence()) fail(key, std::string("expected a list of integers, got ") + node_kind(n));
    std::vector<int> v;
    for (const YAML::Node& e : n) {
      if (!e.IsScalar()) fail(key, std::string("expected integers, got ") + node_kind(e));
      try {
        v.push_back(e.as<int>());
      } catch (const YAML::Exception&) {
        fail(key, "wrong type ('" + e.Scalar() + "' is not an integer)");
      }
    }
    return v;
  }
  YAML::Node child(const char* key) { return lookup(key); }
  // A required key that is absent: a misspelling of it is reported as the unknown key it is.
  [[noreturn]] void missing(const char* key) const {
    if (node_ && node_.IsMap())
      for (auto it = node_.begin(); it != node_.end(); ++it)
        if (it->first.Scalar() != key && closest_key(it->first.Scalar(), {key}) == key)
          unknown_key(path_, it->first.Scalar(), {key});
    fail(key, "missing");
  }
  [[noreturn]] void fail(const char* key, const std::string& msg) const {
    throw Error(key_path(path_, key) + ": " + msg);
  }
  void finish(const std::vector<std::string>& also = {}) const {
    if (!node_ || !node_.IsMap()) return;
    std::vector<std::string> present, known = used_;
    known.insert(known.end(), also.begin(), also.end());
    for (auto it = node_.begin(); it != node_.end(); ++it) present.push_back(it->first.Scalar());
    check_keys(path_, present, known);
  }
  const std::string& path() const { return path_; }

 private:
  YAML::Node lookup(const char* key) {
    used_.emplace_back(key);
    if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& n = node_;
    return n[key];
  }
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> used_;
};

template <class T>
void at_least(Section& s, const char* key, T v, T lo) {
  if (v < lo) s.fail(key, "must be >= " + std::to_string(lo) + " (got " + std::to_string(v) + ")");
}

template <class T>
void one_of(Section& s, const char* key, const T& v, std::initializer_list<T> allowed,
            const char* expected) {
  for (const T& a : allowed)
    if (v == a) return;
  s.fail(key, "'" + v + "': expected " + expected);
}

DataConfig parse_data(Section&& d) {
  DataConfig dc;
  dc.format = d.get<std::string>("format", "idx");
  one_of<std::string>(d, "format", dc.format, {"idx", "folder", "hdf5"}, "idx, folder or hdf5");
  dc.train = d.get<std::string>("train", "");
  dc.val = d.get<std::string>("val", "");
  if (dc.train.empty()) d.missing("train");
  dc.limit_train = d.get<int64_t>("limit_train", 0);
  dc.limit_val = d.get<int64_t>("limit_val", 0);
  at_least<int64_t>(d, "limit_train", dc.limit_train, 0);
  at_least<int64_t>(d, "limit_val", dc.limit_val, 0);
  dc.image_size = d.get<int>("image_size", 0);
  at_least(d, "image_size", dc.image_size, 0);
  if (dc.format == "folder" && dc.image_size < 1)
    d.fail("image_size", "required (>= 1) for folder data");
  dc.channels = d.get<int>("channels", 3);
  if (dc.channels != 1 && dc.channels != 3) d.fail("channels", "must be 1 or 3");
  dc.transform.pad = d.get<int>("pad", 0);
  at_least(d, "pad", dc.transform.pad, 0);
  dc.transform.crop = d.get<int>("crop", 0);
  at_least(d, "crop", dc.transform.crop, 0);
  dc.transform.flip = d.get<bool>("flip", false);
  try {
    dc.transform.normalize = parse_normalize(d.get<std::string>("normalize", "none"));
  } catch (const Error& e) {
    d.fail("normalize", e.what());
  }
  dc.transform.scale = d.get<float>("scale", 1.f);
  if (!(dc.transform.scale > 0.f)) d.fail("scale", "must be > 0");
  dc.eval_crops = d.get<int>("eval_crops", 1);
  if (dc.eval_crops != 1 && dc.eval_crops != 10) d.fail("eval_crops", "must be 1 or 10");
  dc.threads = d.get<int>("threads", 2);
  at_least(d, "threads", dc.threads, 1);
  dc.classes = d.get<std::string>("classes", "");
  d.finish();
  return dc;
}

ScheduleConfig parse_schedule(Section&& s) {
  ScheduleConfig sc;
  sc.type = s.get<std::string>("type", "none");
  one_of<std::string>(s, "type", sc.type, {"none", "step", "plateau"}, "none, step or plateau");
  sc.step_epochs = s.get<int>("step_epochs", 30);
  at_least(s, "step_epochs", sc.step_epochs, 1);
  sc.gamma = s.get<float>("gamma", 0.1f);
  if (!(sc.gamma > 0.f && sc.gamma <= 1.f)) s.fail("gamma", "must be in (0, 1]");
  sc.patience = s.get<int>("patience", 2);
  at_least(s, "patience", sc.patience, 1);
  sc.threshold = s.get<float>("threshold", 1e-3f);
  sc.min_lr = s.get<float>("min_lr", 1e-6f);
  s.finish();
  return sc;
}

TrainConfig parse_train(Section&& t, const std::string& source) {
  TrainConfig tc;
  tc.batch = t.get<int>("batch", 64);
  at_least(t, "batch", tc.batch, 1);
  tc.epochs = t.get<int>("epochs", 10);
  at_least(t, "epochs", tc.epochs, 1);
  tc.lr = t.get<float>("lr", 0.01f);
  if (!(tc.lr > 0.f)) t.fail("lr", "must be > 0");
  tc.momentum = t.get<float>("momentum", 0.9f);
  if (!(tc.momentum >= 0.f && tc.momentum < 1.f)) t.fail("momentum", "must be in [0, 1)");
  tc.weight_decay = t.get<float>("weight_decay", 5e-4f);
  if (!(tc.weight_decay >= 0.f)) t.fail("weight_decay", "must be >= 0");
  tc.renorm_radius = t.get<float>("renorm_radius", 0.1f);
  if (!(tc.renorm_radius >= 0.f)) t.fail("renorm_radius", "must be >= 0 (0 disables it)");
  tc.snapshots = t.get_ints("snapshots");
  for (int e : tc.snapshots)
    if (e < 1) t.fail("snapshots", "epochs must be >= 1");
  tc.seed = t.get<uint64_t>("seed", 1);
  tc.device = t.get<std::string>("device", "cpu");
  one_of<std::string>(t, "device", tc.device, {"cpu", "cuda", "auto"}, "cpu, cuda or auto");
  tc.conv_math = t.get<std::string>("conv_math", "");
  if (!tc.conv_math.empty())
    one_of<std::string>(t, "conv_math", tc.conv_math, {"fp32", "tf32"}, "fp32 or tf32");
  tc.checkpoint_every = t.get<double>("checkpoint_every", 10.0);
  if (!(tc.checkpoint_every >= 0.0)) t.fail("checkpoint_every", "minutes, must be >= 0 (0: off)");
  tc.checkpoint_every_iters = t.get<int64_t>("checkpoint_every_iters", 0);
  at_least<int64_t>(t, "checkpoint_every_iters", tc.checkpoint_every_iters, 0);
  tc.finite_check_every = t.get<int64_t>("finite_check_every", 200);
  at_least<int64_t>(t, "finite_check_every", tc.finite_check_every, 0);
  tc.schedule = parse_schedule(Section(t.child("schedule"), source + ": train.schedule"));
  t.finish();
  return tc;
}

LayerSpec parse_layer(const YAML::Node& item, const std::string& path) {
  ZF_CHECK(item.IsMap(), "%s: expected a map with name and type, got %s", path.c_str(),
           node_kind(item));
  std::map<std::string, std::string> values;
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string k = it->first.Scalar();
    ZF_CHECK(it->second.IsScalar(), "%s: expected a single value, got %s",
             key_path(path, k).c_str(), node_kind(it->second));
    values[k] = it->second.Scalar();
  }
  ZF_CHECK(values.count("type"), "%s: missing", key_path(path, "type").c_str());
  ZF_CHECK(values.count("name"), "%s: missing", key_path(path, "name").c_str());
  const std::string type = values["type"], name = values["name"];
  values.erase("type");
  values.erase("name");
  return LayerSpec(path, name, type, std::move(values));
}

NetSpec parse_net(Section& top, const std::string& source) {
  NetSpec spec;
  spec.source = source;
  const YAML::Node in = top.child("input");
  ZF_CHECK(in && in.IsMap(), "%s: input: missing map {channels, height, width}", source.c_str());
  Section s(in, source + ": input");
  int64_t chw[3];
  const char* dims[3] = {"channels", "height", "width"};
  for (int i = 0; i < 3; ++i) {
    chw[i] = s.get<int64_t>(dims[i], 0);
    if (chw[i] < 1) s.fail(dims[i], chw[i] == 0 ? "missing (an integer >= 1)" : "must be >= 1");
  }
  s.finish();
  spec.input_chw = Shape{chw[0], chw[1], chw[2]};
  const YAML::Node list = top.child("layers");
  ZF_CHECK(list && list.IsSequence() && list.size() > 0, "%s: layers: missing or empty list",
           source.c_str());
  for (size_t i = 0; i < list.size(); ++i)
    spec.layers.push_back(parse_layer(list[i], source + ": layers[" + std::to_string(i) + "]"));
  check_net_spec(spec);
  return spec;
}

// Sets each override's value in the YAML tree (creating the sections it names when absent).
void apply_overrides(YAML::Node& root, const std::vector<ConfigOverride>& overrides,
                     const std::string& source) {
  for (const ConfigOverride& o : overrides) {
    // Node handles are references: reset() moves one, while `=` would overwrite what it refers to.
    YAML::Node node;
    node.reset(root);
    std::stringstream parts(o.key);
    std::string part, next;
    std::getline(parts, part, '.');
    while (std::getline(parts, next, '.')) {
      YAML::Node child = node[part];
      ZF_CHECK(!child.IsDefined() || child.IsMap() || child.IsNull(),
               "%s: %s: cannot override inside %s", source.c_str(), o.key.c_str(),
               node_kind(child));
      if (!child.IsMap()) node[part] = YAML::Node(YAML::NodeType::Map);
      YAML::Node inner = node[part];
      node.reset(inner);
      part = next;
    }
    node[part] = o.value;
  }
}

Config parse_root(YAML::Node& root, const std::string& text, const std::string& source,
                  const std::vector<ConfigOverride>& overrides) {
  ZF_CHECK(root.IsMap(), "%s: the config must be a YAML map", source.c_str());
  Config c;
  c.source = source;
  c.text = text;
  if (!overrides.empty()) {
    apply_overrides(root, overrides, source);
    c.text = YAML::Dump(root) + "\n";
  }
  Section top(root, source + ":");
  std::vector<std::string> present;
  for (auto it = root.begin(); it != root.end(); ++it) present.push_back(it->first.Scalar());
  check_keys(source + ":", present, {"name", "input", "data", "train", "layers"});
  c.name = top.get<std::string>("name", "net");
  c.data = parse_data(Section(top.child("data"), source + ": data"));
  c.train = parse_train(Section(top.child("train"), source + ": train"), source);
  c.net = parse_net(top, source);
  return c;
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source,
                    const std::vector<ConfigOverride>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": invalid YAML: " + e.what());
  }
  try {
    return parse_root(root, text, source, overrides);
  } catch (const YAML::Exception& e) {  // anything the checks above did not foresee
    throw Error(source + ": " + e.what());
  }
}

Normalize parse_normalize(const std::string& s) {
  if (s == "none") return Normalize::None;
  if (s == "pixel_mean") return Normalize::PixelMean;
  if (s == "channel_mean") return Normalize::ChannelMean;
  if (s == "channel_standardize") return Normalize::ChannelStandardize;
  ZF_THROW("normalize '%s': expected none, pixel_mean, channel_mean or channel_standardize",
           s.c_str());
}

std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path);
  ZF_CHECK(in.good(), "%s: cannot open the class names file", path.c_str());
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    ZF_CHECK(line.size() <= 4096, "%s: line %zu is longer than 4096 bytes", path.c_str(),
             names.size() + 1);
    if (!line.empty()) names.push_back(line);
  }
  ZF_CHECK(!names.empty(), "%s: no class names in it", path.c_str());
  return names;
}

Config load_config(const std::string& path, const std::vector<ConfigOverride>& overrides) {
  std::ifstream f(path);
  ZF_CHECK(f, "%s: cannot open config", path.c_str());
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path, overrides);
}

}  // namespace zf
