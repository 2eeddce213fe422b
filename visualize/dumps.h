// The HDF5 files the visualization tools write (DESIGN section 5): zf_project's per-layer top-k
// dump of a data set, its per-image dump (--image), and zf_evolve's per-layer evolution dump.
// Every zf_project dump states how its projections were made (layer, checkpoint, the images'
// source, rule, how many were kept, through_lrn, the receptive field).
#pragma once

#include <string>
#include <vector>

#include "visualize/projection.h"

namespace zf {

// How a layer's projections were made: the attributes every zf_project dump carries.
struct DumpInfo {
  std::string layer, checkpoint, rule;
  bool through_lrn = false;
  Field field;
};

// <out>/<layer>.h5 of a data set: for feature ids[i], its k hits hits[i] and their projections
// pr[i * k + j] cropped to the field ([channels, field, field] each).
void write_topk_dump(const std::string& path, const DumpInfo& info, const std::string& dataset,
                     int k, const std::vector<int>& ids, const std::vector<std::vector<Hit>>& hits,
                     const std::vector<Projection>& pr, int channels);

// <out>/<image>_<layer>.h5: one image's activations `act` (host, [1, F, (H, W)]), its `top`
// strongest features req with their units' positions and full-size projections, and its view
// pixels [C, H, W] (chw = the net's input).
void write_image_dump(const std::string& path, const DumpInfo& info, const std::string& image,
                      int top, const Tensor& act, const std::vector<ProjectRequest>& req,
                      const std::vector<std::vector<float>>& full, const uint8_t* pixels,
                      const Shape& chw);

// zf_evolve's <out>/<layer>.h5: hits[e][f] and proj[e][f] for feature features[f] at epochs[e].
struct EvolveDump {
  std::string layer, checkpoints, dataset;
  std::vector<int> epochs, features;
  std::vector<std::vector<Hit>> hits;
  std::vector<std::vector<Projection>> proj;
  int channels = 0, field = 0;
};
void write_evolve_dump(const std::string& path, const EvolveDump& d);

}  // namespace zf
