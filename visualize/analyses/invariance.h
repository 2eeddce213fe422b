// Feature invariance (Zeiler & Fergus Fig. 5, ../shared/ANALYSES.md): each image is translated
// vertically, scaled and rotated by increasing amounts (applied to the source image before the
// final crop, the mean filling where the source runs out); at each step, the Euclidean distance
// between the original's and the transformed image's features at each chosen layer (raw and
// L2-normalized), the probability of the true class and the top class.
#pragma once

#include <cstdint>
#include <functional>
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
  std::vector<std::string>
      layers;  // "" = the first conv layer and the last fc before the classifier
};

void run_invariance(const InvarianceOptions& o);

// Translate: vertical, in pixels of the source (= of the net's view), positive moves the content
// down. Scale: a ratio about the centre, > 1 zooms in. Rotate: degrees counter-clockwise about the
// centre.
enum class Transform { Translate, Scale, Rotate };
const char* transform_name(Transform t);

// One sweep, in the units above (translation in the net's input pixels): amounts lo + i * step for
// i = 0, 1, ... while <= hi (lo and hi when the step is wider than the range, so that a sweep has
// at least two distinct amounts when lo < hi). An amount within 1e-6 steps of the identity (0, or
// 1 for scale) is the identity, so that the untransformed image is compared exactly.
struct Sweep {
  Transform transform = Transform::Translate;
  double lo = 0, hi = 0, step = 1;
  std::string origin;  // where lo, hi and step came from (the defaults and their scaling, or given)
  std::vector<float> amounts() const;
};
// The sweeps of --transform, --range and --steps for a net whose input is `input_side` pixels
// wide. Malformed values, LO > HI, a step <= 0, a scale <= 0, unknown or repeated names and
// sweeps of more than 10000 steps throw CliError naming the value.
std::vector<Sweep> parse_sweeps(const std::vector<std::string>& transforms,
                                const std::vector<std::string>& ranges,
                                const std::vector<std::string>& steps, int input_side);

// The layers compared: `names`, or by default the first conv layer and the penultimate fc layer
// (the last conv layer when the net has a single fc). A repeated name throws CliError.
std::vector<FeatureLayer> invariance_layers(Net& net, const std::vector<std::string>& names);

// A source image [C, S, S] (S = source_side) transformed by `amount`: bilinear about the centre
// ((S-1)/2, (S-1)/2); where the source runs out, the data mean at that pixel of the padded image
// (rounded to 8 bits) stands in. Amount 0 (translate, rotate) and 1 (scale) give `src` unchanged.
std::vector<uint8_t> transform_source(const Session& s, const uint8_t* src, Transform t,
                                      float amount);

// One image's sweep. Distances per amount and layer, row-major [amounts, layers]: raw Euclidean
// ||f(x) - f(T x)|| between the layers' shown (rectified) activations, flattened, and the same
// between the L2-normalized vectors (a zero vector stays zero). The true class is the image's
// label, else the prediction for the untransformed image (label_predicted). Each forward pass holds
// the untransformed image and up to batch - 1 amounts; `done`, when given, hears how many amounts
// each pass did.
struct InvarianceResult {
  std::vector<float> amounts;
  std::vector<float> distance, distance_normalized;
  std::vector<float> p_true, top_prob;
  std::vector<int32_t> top_class;
  int label = -1;
  bool label_predicted = false;
};
InvarianceResult invariance_sweep(Session& s, const AnalysisImage& img, Transform t,
                                  const std::vector<float>& amounts,
                                  const std::vector<FeatureLayer>& layers, int batch,
                                  const std::function<void(int64_t)>& done = {});

}  // namespace zf
