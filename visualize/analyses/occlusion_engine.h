// The computation behind occlusion sensitivity, on a bare Net (no checkpoint or files), so that
// tests and zf_bench_occlusion run it directly: the occluded copies of one view, batched, through
// the whole net ("full") or through windows of the early layers ("incremental", occlusion.h).
#pragma once

#include <string>
#include <vector>

#include "core/nn/net.h"

namespace zf {

// Square corners along one axis: every `stride` pixels from 0, plus one flush with the far edge
// when the stride does not reach it. Throws unless 1 <= size <= side and stride >= 1.
std::vector<int> occluder_starts(int side, int size, int stride);

struct OcclusionMaps {
  std::vector<int> ys, xs;     // square corners along each axis; positions are ys x xs, row-major
  std::vector<float> map_sum;  // (b) the chosen map's activity summed over its extent
  std::vector<float> p_true;   // (d) probability of the true class
  std::vector<int> top;        // (e) the most probable class
  std::vector<float> top_p;    // and its probability
};

struct OcclusionSpec {
  int size = 1, stride = 1;
  int act = 0;      // activation index of the chosen map's layer
  int feature = 0;  // the map
  int true_class = 0;
  bool incremental = true;
  int batch = 64;
  // When set, receives the seconds spent: incremental, [i] = layer i's windows for the P layers
  // before the first fc, then [P] = the rest of the net; full, [0] = the whole forward.
  std::vector<double>* seconds = nullptr;
};

// x: the view [C,H,W] as the net sees it; fill: what the square holds there [C,H,W] (both host).
// The net must be on the CPU for the incremental method (windows are cut on the host).
// Deterministic, and independent of spec.batch.
OcclusionMaps occlude(Net& net, const std::vector<float>& x, const std::vector<float>& fill,
                      const OcclusionSpec& spec);

// The first layer that mixes all positions (its output maps are not the same as its input's
// window-wise: fc, the loss): layers before it are recomputed on windows.
int spatial_prefix(Net& net);

}  // namespace zf
