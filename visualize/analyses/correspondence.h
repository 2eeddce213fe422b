// Correspondence (Zeiler & Fergus Table 1 and Fig. 8, ../shared/ANALYSES.md): the same part (left
// eye, nose, ...) is masked in each of several images, and K random boxes of the part's size inside
// the object; for each image the feature difference eps_i = x_i - x~_i at each layer, and the
// part's Delta = mean over ordered pairs i != j of the fraction of positions where the ternary
// signs of eps_i and eps_j differ (+- the standard deviation over pairs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "visualize/analyses/common.h"

namespace zf {

struct CorrespondenceOptions {
  AnalysisCommon common;
  std::string parts;                // the parts file (JSON)
  int random = 10;                  // random boxes per part and image
  uint64_t seed = 1;                // their placement
  std::vector<std::string> layers;  // "" = the last conv layer and the last fc before the classifier
  std::string fill = "mean";        // "mean" or a pixel value 0..255
};

void run_correspondence(const CorrespondenceOptions& o);

}  // namespace zf
