// Feature invariance (Zeiler & Fergus Fig. 5, ../shared/ANALYSES.md): each image is translated
// vertically, scaled and rotated by increasing amounts (applied to the source image before the
// final crop, the mean filling where the source runs out); at each step, the Euclidean distance
// between the original's and the transformed image's features at each chosen layer (raw and
// L2-normalized), the probability of the true class and the top class.
#pragma once

#include <string>
#include <vector>

#include "visualize/analyses/common.h"

namespace zf {

struct InvarianceOptions {
  AnalysisCommon common;
  ImageSelection images;
  std::vector<std::string> transforms{"translate", "scale", "rotate"};
  // Per transform "NAME=LO:HI" and "NAME=STEP" (defaults: the paper's ranges, ANALYSES.md's steps).
  std::vector<std::string> ranges, steps;
  std::vector<std::string> layers;  // "" = the first conv layer and the last fc before the classifier
};

void run_invariance(const InvarianceOptions& o);

}  // namespace zf
