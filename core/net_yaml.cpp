// Net::from_yaml: a config's `input:` and `layers:` sections to a Net, with YAML paths in errors.
// Kept apart from net.cpp so that nets built in code need no yaml-cpp (the GPU machine has none).
#include <yaml-cpp/yaml.h>

#include <set>

#include "core/net.h"

namespace zf {

namespace {

int yaml_int(const YAML::Node& n, const std::string& path, int min_value) {
  int v = 0;
  try {
    v = n.as<int>();
  } catch (const YAML::Exception&) {
    throw Error(path + ": expected an integer");
  }
  ZF_CHECK(v >= min_value, "%s: must be >= %d (got %d)", path.c_str(), min_value, v);
  return v;
}

}  // namespace

Net Net::from_yaml(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": invalid YAML: " + e.what());
  }
  ZF_CHECK(root.IsMap(), "%s: the config must be a YAML map", source.c_str());
  const YAML::Node in = root["input"];
  ZF_CHECK(in && in.IsMap(), "%s: input: missing map {channels, height, width}", source.c_str());
  for (auto it = in.begin(); it != in.end(); ++it) {
    std::string k = it->first.as<std::string>();
    ZF_CHECK(k == "channels" || k == "height" || k == "width", "%s: input.%s: unknown key",
             source.c_str(), k.c_str());
  }
  auto dim = [&](const char* k) {
    ZF_CHECK(in[k], "%s: input.%s: missing", source.c_str(), k);
    return yaml_int(in[k], source + ": input." + k, 1);
  };
  Shape chw{dim("channels"), dim("height"), dim("width")};

  const YAML::Node list = root["layers"];
  ZF_CHECK(list && list.IsSequence() && list.size() > 0, "%s: layers: missing or empty list",
           source.c_str());
  std::vector<std::unique_ptr<Layer>> layers;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = source + ": layers[" + std::to_string(i) + "]";
    const YAML::Node item = list[i];
    ZF_CHECK(item.IsMap(), "%s: expected a map with name and type", path.c_str());
    std::map<std::string, std::string> values;
    for (auto it = item.begin(); it != item.end(); ++it) {
      std::string k = it->first.as<std::string>();
      ZF_CHECK(it->second.IsScalar(), "%s.%s: must be a single value", path.c_str(), k.c_str());
      values[k] = it->second.as<std::string>();
    }
    ZF_CHECK(values.count("type"), "%s.type: missing", path.c_str());
    ZF_CHECK(values.count("name"), "%s.name: missing", path.c_str());
    std::string type = values["type"], name = values["name"];
    values.erase("type");
    values.erase("name");
    ZF_CHECK(!name.empty() && names.insert(name).second, "%s.name: '%s' is empty or used twice",
             path.c_str(), name.c_str());
    layers.push_back(make_layer(LayerSpec(path, name, type, std::move(values))));
  }
  Net net(std::move(layers), chw);
  try {
    net.setup(1);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return net;
}

}  // namespace zf
