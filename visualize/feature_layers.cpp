// Feature layers and receptive fields from layer capabilities (see feature_layers.h).
#include "visualize/feature_layers.h"

#include <algorithm>

namespace zf {

namespace {
std::string layer_names(const Net& net) {
  std::string names;
  for (int i = 0; i < net.size(); ++i)
    if (!net.layer(i).is_loss()) names += (names.empty() ? "" : ", ") + net.layer(i).name();
  return names;
}
}  // namespace

FeatureLayer find_feature_layer(Net& net, const std::string& name) {
  const int i = net.find(name);
  ZF_CHECK(i >= 0, "no layer named '%s' (layers: %s)", name.c_str(), layer_names(net).c_str());
  ZF_CHECK(!net.layer(i).is_loss(), "layer '%s' is the loss layer: it has no features to show",
           name.c_str());
  FeatureLayer v;
  v.name = name;
  v.layer = i;
  v.act = (i + 1 < net.size() && net.layer(i + 1).rectifies()) ? i + 1 : i;
  v.features = static_cast<int>(net.output_shape(i)[1]);
  return v;
}

std::vector<FeatureLayer> filtering_layers(Net& net) {
  std::vector<FeatureLayer> out;
  Geometry g;
  for (int i = 0; i < net.size(); ++i)
    if (net.layer(i).geometry(&g) && !net.layer(i).params().empty())
      out.push_back(find_feature_layer(net, net.layer(i).name()));
  return out;
}

MapSize map_size(const Shape& s) {
  MapSize m;
  if (s.ndim >= 4) m.h = static_cast<int>(s[2]), m.w = static_cast<int>(s[3]);
  return m;
}

Field receptive_field(Net& net, int layer) {
  Field f;
  const Shape& chw = net.input_chw();
  const int image = static_cast<int>(std::max(chw[1], chw[2]));
  MapSize in{static_cast<int>(chw[1]), static_cast<int>(chw[2])};
  for (int i = 0; i <= layer; ++i) {
    const MapSize out = map_size(net.output_shape(i));
    Geometry g;
    if (net.layer(i).geometry(&g)) {
      f.first -= g.pad * f.jump;
      f.size += (g.kernel - 1) * f.jump;
      f.jump *= g.stride;
    } else if (out.h != in.h || out.w != in.w) {
      // A unit here mixes every position of its input: the union of their fields, in the image.
      const int lo = std::max(f.first, 0);
      const int hi = std::min(f.first + f.size + (std::max(in.h, in.w) - 1) * f.jump, image);
      f.first = lo;
      f.size = f.jump = std::max(hi - lo, 1);
      return f;
    }
    in = out;
  }
  return f;
}

}  // namespace zf
