// Config parsing with path-qualified errors: "fashion.yaml: train.lr: must be > 0".
#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/check.h"
#include "core/net.h"

namespace zf {

namespace {

// A YAML map whose keys must all be read; get() converts with the key's path in errors.
class Section {
 public:
  Section(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    ZF_CHECK(!node_ || node_.IsMap(), "%s: must be a map", path_.c_str());
  }
  template <class T>
  T get(const char* key, T def) {
    used_.insert(key);
    if (!node_ || !node_[key]) return def;
    try {
      return node_[key].as<T>();
    } catch (const YAML::Exception&) {
      throw Error(path_ + "." + key + ": wrong type ('" + scalar(key) + "')");
    }
  }
  YAML::Node child(const char* key) {
    used_.insert(key);
    return node_ ? node_[key] : YAML::Node();
  }
  [[noreturn]] void fail(const char* key, const std::string& msg) const {
    throw Error(path_ + "." + key + ": " + msg);
  }
  void finish(const std::set<std::string>& also = {}) const {
    if (!node_) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string k = it->first.as<std::string>();
      if (!used_.count(k) && !also.count(k)) throw Error(path_ + "." + k + ": unknown key");
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string scalar(const char* key) const {
    return node_[key].IsScalar() ? node_[key].as<std::string>() : "not a single value";
  }
  YAML::Node node_;
  std::string path_;
  std::set<std::string> used_;
};

template <class T>
void at_least(Section& s, const char* key, T v, T lo) {
  if (v < lo) s.fail(key, "must be >= " + std::to_string(lo) + " (got " + std::to_string(v) + ")");
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source) {
  Config c;
  c.source = source;
  c.text = text;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": invalid YAML: " + e.what());
  }
  ZF_CHECK(root.IsMap(), "%s: the config must be a YAML map", source.c_str());
  Section top(root, source + ":");
  c.name = top.get<std::string>("name", "net");

  Section d(top.child("data"), source + ": data");
  DataConfig& dc = c.data;
  dc.format = d.get<std::string>("format", "idx");
  if (dc.format != "idx" && dc.format != "folder" && dc.format != "hdf5")
    d.fail("format", "'" + dc.format + "': expected idx, folder or hdf5");
  dc.train = d.get<std::string>("train", "");
  dc.val = d.get<std::string>("val", "");
  if (dc.train.empty()) d.fail("train", "missing");
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
  d.finish();

  Section t(top.child("train"), source + ": train");
  TrainConfig& tc = c.train;
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
  tc.snapshots = t.get<std::vector<int>>("snapshots", {});
  for (int e : tc.snapshots)
    if (e < 1) t.fail("snapshots", "epochs must be >= 1");
  tc.seed = t.get<uint64_t>("seed", 1);
  tc.device = t.get<std::string>("device", "cpu");
  if (tc.device != "cpu" && tc.device != "cuda" && tc.device != "auto")
    t.fail("device", "'" + tc.device + "': expected cpu, cuda or auto");
  Section s(t.child("schedule"), source + ": train.schedule");
  ScheduleConfig& sc = tc.schedule;
  sc.type = s.get<std::string>("type", "none");
  if (sc.type != "none" && sc.type != "step" && sc.type != "plateau")
    s.fail("type", "'" + sc.type + "': expected none, step or plateau");
  sc.step_epochs = s.get<int>("step_epochs", 30);
  at_least(s, "step_epochs", sc.step_epochs, 1);
  sc.gamma = s.get<float>("gamma", 0.1f);
  if (!(sc.gamma > 0.f && sc.gamma <= 1.f)) s.fail("gamma", "must be in (0, 1]");
  sc.patience = s.get<int>("patience", 2);
  at_least(s, "patience", sc.patience, 1);
  sc.threshold = s.get<float>("threshold", 1e-3f);
  sc.min_lr = s.get<float>("min_lr", 1e-6f);
  s.finish();
  t.finish();
  top.finish({"input", "layers"});

  Net::from_yaml(text, source);  // validates the layers section now, with its own paths
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream f(path);
  ZF_CHECK(f, "%s: cannot open config", path.c_str());
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path);
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& d, bool train_split) {
  const std::string& p = train_split ? d.train : d.val;
  const int64_t limit = train_split ? d.limit_train : d.limit_val;
  ZF_CHECK(!p.empty(), "data.%s: no path configured", train_split ? "train" : "val");
  if (d.format == "idx") return open_idx(p + "-images-idx3-ubyte", p + "-labels-idx1-ubyte", limit);
  if (d.format == "folder") return open_folder(p, d.image_size, d.channels, limit);
  return open_hdf5(p, limit);
}

}  // namespace zf
