// What zf_project does, as one call: mine each feature layer's top-k activations over a data set
// and write their projections (<out>/<layer>.h5 and the Fig. 2 montage <out>/<layer>.png), or,
// with image files, dump each image's activations and its strongest features' full projections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zf {

struct ProjectRunOptions {
  std::string checkpoint, config, data, out = "project", rule = "deconv", features = "all",
                                        device = "cpu";
  std::vector<std::string> images;  // non-empty: image mode (no data set)
  std::vector<std::string> layers;  // any layers by name; empty = every filtering (conv) layer
  int k = 9, batch = 64, show = 16, top = 9;
  int64_t limit = 0;
  bool through_lrn = false;
};

// Writes the outputs and prints one line per file pair; throws zf::Error on bad input.
void run_project(const ProjectRunOptions& o);

// --features: "all" or comma-separated ids, each in 0..count-1 of layer `layer`.
std::vector<int> parse_features(const std::string& spec, int count, const std::string& layer);

}  // namespace zf
