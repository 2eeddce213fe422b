// Finding what to show: the strongest unit of a feature map (the one argmax every caller uses),
// bounded top-k lists of the strongest activations per feature over a data set, and the strongest
// features of one image.
#pragma once

#include <cstdint>
#include <vector>

#include "visualize/feature_layers.h"
#include "visualize/session.h"

namespace zf {

struct Hit {
  float value = 0;
  int64_t image = -1;
  int y = 0, x = 0;
};
// The strongest unit of one feature map [h, w] of image `image`: the first maximum in row-major
// order (strict >), so that ties resolve the same way everywhere.
Hit strongest_unit(const float* map, int h, int w, int64_t image);

// Keeps the k largest hits per feature (ties: the lower image index wins), memory O(features * k).
class TopK {
 public:
  TopK(int features, int k);
  void offer(int feature, const Hit& h);
  std::vector<Hit> sorted(int feature) const;  // strongest first
  int features() const { return static_cast<int>(heaps_.size()); }

 private:
  int k_;
  std::vector<std::vector<Hit>> heaps_;
};

// Throws unless `ds` has at least k images (k hits per feature come from k different images).
void check_k_fits(int k, const Dataset& ds);

// One forward pass over `ds`: for every feature map of every layer, the strongest activation of
// each image is offered to that feature's TopK (so the k hits of a feature come from k different
// images).
std::vector<TopK> mine_topk(Session& s, const Dataset& ds, const std::vector<FeatureLayer>& layers,
                            int k, int batch);

// One activation to project: a feature and the unit (image, y, x) it peaks at.
struct ProjectRequest {
  int feature;
  Hit hit;
};
// The `top` features of image n of activation `act` (host memory) with the largest maximum,
// strongest first (ties: the lower feature), each at its strongest unit; `image` is the data-set
// index the hits carry.
std::vector<ProjectRequest> strongest_features(const Tensor& act, int64_t n, int64_t image,
                                               int top);

}  // namespace zf
