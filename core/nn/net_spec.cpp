// Building and checking nets from their specs (see net_spec.h).
#include "core/nn/net_spec.h"

#include <set>

namespace zf {

std::vector<std::unique_ptr<Layer>> make_layers(const NetSpec& spec) {
  ZF_CHECK(!spec.layers.empty(), "%s: layers: missing or empty list", spec.source.c_str());
  ZF_CHECK(spec.input_chw.ndim == 3 && spec.input_chw.numel() > 0,
           "%s: input: needs channels, height and width >= 1", spec.source.c_str());
  std::vector<std::unique_ptr<Layer>> layers;
  std::set<std::string> names;
  for (const LayerSpec& ls : spec.layers) {
    ZF_CHECK(!ls.name().empty() && names.insert(ls.name()).second,
             "%s.name: '%s' is empty or used twice", ls.path().c_str(), ls.name().c_str());
    layers.push_back(make_layer(ls));
  }
  return layers;
}

void check_net_spec(const NetSpec& spec) {
  std::vector<std::unique_ptr<Layer>> layers = make_layers(spec);
  Shape s{1, spec.input_chw[0], spec.input_chw[1], spec.input_chw[2]};
  try {
    for (size_t i = 0; i < layers.size(); ++i) {
      ZF_CHECK(!layers[i]->is_loss() || i + 1 == layers.size(),
               "layer %s: a %s layer can only be the last layer", layers[i]->name().c_str(),
               layers[i]->type());
      s = layers[i]->output_shape(s);
    }
  } catch (const Error& e) {
    throw Error(spec.source + ": " + e.what());
  }
}

Net build_net(const NetSpec& spec) {
  check_net_spec(spec);
  Net net(make_layers(spec), spec.input_chw);
  net.setup(1);
  return net;
}

}  // namespace zf
