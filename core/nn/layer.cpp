// LayerSpec (typed access to one layer's config values) and the default deconvnet step.
#include "core/nn/layer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/keys.h"

namespace zf {

LayerSpec::LayerSpec(std::string path, std::string name, std::string type,
                     std::map<std::string, std::string> values)
    : path_(std::move(path)),
      name_(std::move(name)),
      type_(std::move(type)),
      values_(std::move(values)) {}

void LayerSpec::fail(const std::string& key, const std::string& msg) const {
  throw Error(key_path(path_, key) + ": " + msg);
}

std::vector<std::string> LayerSpec::known_keys() const {
  std::vector<std::string> k(used_.begin(), used_.end());
  k.push_back("name");
  k.push_back("type");
  return k;
}

bool LayerSpec::has(const std::string& key) const {
  return values_.count(key) != 0;
}

const std::string* LayerSpec::find(const std::string& key) const {
  used_.insert(key);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

int LayerSpec::require_int(const std::string& key, int min_value) const {
  if (!has(key)) {
    // A misspelling of this key is reported as what it is: an unknown key.
    used_.insert(key);
    for (const auto& kv : values_)
      if (!used_.count(kv.first) && closest_key(kv.first, {key}) == key)
        unknown_key(path_, kv.first, known_keys());
    ZF_THROW("%s (%s, type %s): missing required key '%s'", path_.c_str(), name_.c_str(),
             type_.c_str(), key.c_str());
  }
  return get_int(key, 0, min_value);
}

int LayerSpec::get_int(const std::string& key, int def, int min_value) const {
  const std::string* v = find(key);
  if (!v) return def;
  errno = 0;
  char* end = nullptr;
  long r = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE || r < -2147483647L || r > 2147483647L)
    fail(key, "'" + *v + "' is not an integer");
  if (r < min_value) fail(key, "must be >= " + std::to_string(min_value) + " (got " + *v + ")");
  return static_cast<int>(r);
}

float LayerSpec::get_float(const std::string& key, float def, float min_value,
                           float max_value) const {
  const std::string* v = find(key);
  if (!v) return def;
  char* end = nullptr;
  double r = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || !std::isfinite(r)) fail(key, "'" + *v + "' is not a number");
  if (r < min_value || r > max_value)
    fail(key, "must be in [" + strprintf("%g", static_cast<double>(min_value)) + ", " +
                  strprintf("%g", static_cast<double>(max_value)) + "] (got " + *v + ")");
  return static_cast<float>(r);
}

bool LayerSpec::get_bool(const std::string& key, bool def) const {
  const std::string* v = find(key);
  if (!v) return def;
  for (const char* t : {"true", "True", "TRUE", "yes", "on"})
    if (*v == t) return true;
  for (const char* f : {"false", "False", "FALSE", "no", "off"})
    if (*v == f) return false;
  fail(key, "'" + *v + "' is not true or false");
}

void LayerSpec::finish() const {
  std::vector<std::string> present;
  for (const auto& kv : values_) present.push_back(kv.first);
  check_keys(path_, present, known_keys());
}

void Layer::project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor& y,
                    const Tensor* saved, const ProjectOptions& opt) {
  ZF_THROW("layer %s (%s) cannot be projected through by the deconvnet", name_.c_str(), type());
}

}  // namespace zf
