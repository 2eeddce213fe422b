// The layer registry: one line per layer type.
#include <utility>

#include "core/keys.h"
#include "core/nn/layer.h"

namespace zf {

std::unique_ptr<Layer> make_conv_layer(const LayerSpec&);
std::unique_ptr<Layer> make_relu_layer(const LayerSpec&);
std::unique_ptr<Layer> make_maxpool_layer(const LayerSpec&);
std::unique_ptr<Layer> make_lrn_layer(const LayerSpec&);
std::unique_ptr<Layer> make_fc_layer(const LayerSpec&);
std::unique_ptr<Layer> make_dropout_layer(const LayerSpec&);
std::unique_ptr<Layer> make_softmax_loss_layer(const LayerSpec&);

namespace {
const std::pair<const char*, LayerFactory> kRegistry[] = {
    {"conv", make_conv_layer},
    {"relu", make_relu_layer},
    {"maxpool", make_maxpool_layer},
    {"lrn", make_lrn_layer},
    {"fc", make_fc_layer},
    {"dropout", make_dropout_layer},
    {"softmax_loss", make_softmax_loss_layer},
};
}  // namespace

std::vector<std::string> layer_types() {
  std::vector<std::string> t;
  for (const auto& e : kRegistry) t.emplace_back(e.first);
  return t;
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  for (const auto& e : kRegistry) {
    if (spec.type() == e.first) {
      std::unique_ptr<Layer> l = e.second(spec);
      spec.finish();
      return l;
    }
  }
  std::string known;
  for (const auto& t : layer_types()) known += (known.empty() ? "" : ", ") + t;
  const std::string near = closest_key(spec.type(), layer_types());
  throw Error(key_path(spec.path(), "type") + ": unknown layer type '" + spec.type() + "' (" +
              (near.empty() ? "" : "did you mean '" + near + "'? ") + "known: " + known + ")");
}

}  // namespace zf
