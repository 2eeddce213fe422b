// First-layer filters (Zeiler & Fergus Fig. 6, ../shared/ANALYSES.md): a layer's filters as
// pictures for several checkpoints side by side, on one shared brightness scale (which shows a
// dominating filter, Fig. 6a) and each with its own contrast (Fig. 6b/c), with each filter's RMS
// and the count of dead filters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "train/image_io.h"

namespace zf {

struct FiltersOptions {
  std::vector<std::string> checkpoints;
  std::string layer;  // "" = the first conv layer
  std::vector<std::string> scales{"shared", "each"};
  double dead = 0.01;  // dead: RMS below this fraction of the layer's largest RMS
  int columns = 16;    // filters per picture row
  std::string out = "analyze";
};

void run_filters(const FiltersOptions& o);

// ---- the pieces, callable without files (tests) ------------------------------------------------

// Per filter (output channel) of w [F, C, kh, kw]: sqrt(mean(w^2)).
std::vector<double> filter_rms(const Tensor& w);
// Filter f is dead when rms[f] < fraction * max(rms); every filter is when all RMS are 0.
std::vector<uint8_t> dead_filters(const std::vector<double>& rms, double fraction);

// One checkpoint's filters of one conv layer.
struct FilterSet {
  std::string checkpoint, layer;
  int epoch = 0;
  Tensor weight;  // [F, C, kh, kw]
  std::vector<double> rms;
  std::vector<uint8_t> dead;
};
// Reads the layer's weights from the checkpoint (no net built, no normalization needed): `layer`
// "" = the first conv layer of the checkpoint's stored config; a layer that is absent or not a
// conv (sliding window with parameters) fails naming the checkpoint and the layer.
FilterSet read_filters(const std::string& checkpoint, const std::string& layer, double dead);

// One set's filters in a grid, `columns` per row, each kh*zoom x kw*zoom (zoom = max(1, 28 / k))
// at (2 + (f % columns) * (kw*zoom + 4), 2 + (f / columns) * (kh*zoom + 4)); dead ones outlined in
// red. max_abs > 0: that shared scale; 0: each filter its own contrast.
Image filter_grid(const FilterSet& s, float max_abs, int columns);

// All sets' filters, one block per set (titled with its checkpoint's file name, epoch and dead
// count), `columns` filters per row, small kernels scaled up. shared: one scale for everything
// (mid-grey = 0, the largest |w| of all sets = black or white); else each filter's own contrast.
// Dead filters are outlined in red. RGB for 3 input channels, else the first input channel.
Image filters_picture(const std::vector<FilterSet>& sets, bool shared, int columns);

}  // namespace zf
