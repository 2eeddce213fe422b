// Occlusion sensitivity (Zeiler & Fergus Fig. 7, ../shared/ANALYSES.md): a square filled with grey
// slides over the image; at every position the occluded image goes through the net and we keep
// (b) the summed activity of the chosen layer's strongest map of the unoccluded image, (d) the
// probability of the true class and (e) the most probable class; (a) is the image with the square
// drawn, (c) that map's projection in this image beside its projections in K other images.
//
// Speed: the occluded copies are batched, and by default only what the square changes is computed
// again (the incremental method below): the square touches a bounded window of every layer before
// the first one that mixes all positions (fc), so each of those layers is run on a batch of
// windows cut from the clean pass's activations, and only the later layers see whole maps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "visualize/analyses/common.h"
#include "visualize/analyses/occlusion_engine.h"

namespace zf {

struct OcclusionOptions {
  AnalysisCommon common;
  ImageSelection images;
  int size = 0;                   // square side in input pixels; 0 = round(side / 5)
  int stride = 0;                 // 0 = max(1, round(8 * side / 224))
  std::string fill = "mean";      // "mean" (0 after normalization) or a pixel value 0..255
  std::string layer;              // "" = the last conv (filtering) layer
  std::string strongest = "max";  // the map with the largest maximum, or "sum"
  int others = 3;                 // projections of the same map in K other images
  std::string others_data;        // mined from this data set ("" = the config's validation set);
                                  // without a data set, from the other images given
  int64_t others_limit = 2000;    // images mined for the others
  std::string method = "incremental";  // or "full": every occluded copy through the whole net
};

// zf_analyze occlusion: every input checked first, then per image <out>/<name>.h5 and
// <out>/<name>.png (Fig. 7's panels).
void run_occlusion(const OcclusionOptions& o);

}  // namespace zf
