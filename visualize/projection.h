// Deconvnet projections of single activations to pixel space (DESIGN section 4): each request's
// image is run forward, its chosen activation alone (all others zero) is carried down by
// Net::project, and the result is kept whole or cropped to the unit's receptive field beside the
// matching image patch.
#pragma once

#include <cstdint>
#include <vector>

#include "visualize/mining.h"

namespace zf {

// Both are [C, field, field]; pixels outside the image are 0.
struct Projection {
  std::vector<float> proj;
  std::vector<uint8_t> patch;
};
std::vector<Projection> project_hits(Session& s, const Dataset& ds, const FeatureLayer& layer,
                                     const std::vector<ProjectRequest>& req,
                                     const ProjectOptions& opt, int batch);
// The whole input-sized projection of each request (no crop): [C, H, W] each.
std::vector<std::vector<float>> project_full(Session& s, const Dataset& ds,
                                             const FeatureLayer& layer,
                                             const std::vector<ProjectRequest>& req,
                                             const ProjectOptions& opt, int batch);

}  // namespace zf
