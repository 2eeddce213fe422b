// Which layers a visualization shows, asked of the layers' capabilities (never their type names):
// any named layer's features, the activation shown for it (the rectified output when a rectifier
// follows), and the input pixels a unit of that activation sees (its receptive field).
#pragma once

#include <string>
#include <vector>

#include "core/nn/net.h"

namespace zf {

// "Layer L" of the paper: the rectified output of layer L, i.e. of the rectifier right after it
// when there is one. Any layer but the loss can be one (conv, fc, pool, lrn, ...). Its features are
// output dimension 1; a 2-D output [N, F] counts as F maps of 1x1.
struct FeatureLayer {
  std::string name;  // the named layer
  int layer = -1;    // its index
  int act = -1;      // index of the activation shown (the rectifier after it, or the layer itself)
  int features = 0;
};
// Throws naming the layer when there is none of that name, or it is the loss layer.
FeatureLayer find_feature_layer(Net& net, const std::string& name);
// The default selection: the filtering layers (sliding-window geometry and parameters: convs).
std::vector<FeatureLayer> filtering_layers(Net& net);

// Height and width of a layer's output maps: 1x1 for a 2-D output [N, F].
struct MapSize {
  int h = 1, w = 1;
};
MapSize map_size(const Shape& s);

// Unit u of a layer's output sees input pixels [first + u*jump, first + u*jump + size) on each
// axis. Once a layer without geometry mixes all positions of its input (fc: its output maps are
// smaller than its input's), every later unit sees the union of that input's fields, clipped to
// the image (so normally the whole image), and later geometry no longer applies; jump is then the
// field size (there is one unit per axis).
struct Field {
  int size = 1, jump = 1, first = 0;
};
Field receptive_field(Net& net, int layer);

}  // namespace zf
