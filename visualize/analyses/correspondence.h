// Correspondence (Zeiler & Fergus Table 1 and Fig. 8, ../shared/ANALYSES.md): the same part (left
// eye, nose, ...) is masked in each of several images, and K random boxes of the part's size inside
// the object; for each image the feature difference eps_i = x_i - x~_i at each layer, and the
// part's Delta = mean over ordered pairs i != j of the fraction of positions where the ternary
// signs of eps_i and eps_j differ (+- the standard deviation over pairs).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "visualize/analyses/common.h"
#include "visualize/analyses/parts.h"

namespace zf {

struct CorrespondenceOptions {
  AnalysisCommon common;
  std::string parts;  // the parts file (JSON, parts.h)
  int random = 10;    // random boxes per part and image
  uint64_t seed = 1;  // their placement
  std::vector<std::string>
      layers;                 // "" = the last conv layer and the last fc before the classifier
  std::string fill = "mean";  // "mean" or a pixel value 0..255
};

void run_correspondence(const CorrespondenceOptions& o);

// ---- the pieces, callable without files (tests) ------------------------------------------------

// The ternary signs (-1, 0, +1) of a - b, elementwise; an exact zero is 0.
std::vector<int8_t> ternary_signs(const float* a, const float* b, size_t n);
// The fraction of positions where two sign patterns of the same length differ.
double sign_disagreement(const std::vector<int8_t>& a, const std::vector<int8_t>& b);

// Delta of one part at one layer: its pairs' disagreements, their mean and population std.
struct PartDelta {
  double mean = 0, std = 0;
  std::vector<double> values;
  std::vector<std::array<int, 3>>
      pairs;  // per value: image i, image j, random placement (-1: none)
};
// Over the ordered pairs i != j of `signs` (one pattern per image); `images` names each pattern's
// image in `pairs` (default 0, 1, ...), `r` the random placement.
PartDelta part_delta(const std::vector<std::vector<int8_t>>& signs,
                     const std::vector<int>& images = {}, int r = -1);
// The pairs of several groups pooled (random placements, several parts), mean and std over all.
PartDelta pooled_delta(const std::vector<PartDelta>& groups);

// What a mask holds at each view position: the normalized value x and its pixel (for pictures).
struct MaskFill {
  std::string spec;  // "mean" or the pixel value
  std::vector<float> x;
  std::vector<uint8_t> pixels;
};
// "mean": the data mean (x = 0); "0".."255": that pixel value normalized like the image.
MaskFill mask_fill(const Session& s, const std::string& fill);
// The view with box b (view pixels) filled.
NetView mask_view(const NetView& v, const Box& b, const MaskFill& f, int channels, int side);

// One image as the measurement uses it: its view and its boxes, all in view pixels.
struct CorrespondenceImage {
  std::string name, file;
  int label = -1;
  NetView view;
  Box object;
  std::map<std::string, Box> parts;
  std::map<std::string, std::vector<Box>> random;  // K boxes per part
};
// K boxes of each part's size at uniform random positions inside the object box, drawn as
// rng_u32(seed, stream = image, counter = 2 * (part * K + r) + axis) mod the free range, `part`
// indexing `part_names`: an image's draws do not depend on the other images.
void place_random_boxes(CorrespondenceImage& im, int image,
                        const std::vector<std::string>& part_names, int K, uint64_t seed);

// The parts file's images as the net sees them (load_images, net_view) with their boxes carried to
// the view (box_to_view) and K random boxes per part placed; labels checked against the net's
// classes. Errors name the parts file and the field (a box that the view's crops cut away).
std::vector<CorrespondenceImage> prepare_parts_images(const Session& s, const PartsFile& pf, int K,
                                                      uint64_t seed);

// A row of Table 1: one Delta per layer.
struct CorrespondenceRow {
  std::string name;
  std::vector<PartDelta> by_layer;
};
// Rows: each part (over the images that have it); when K > 0, "random" (random placement r
// compares the images' r-th boxes, pooled over r and over the parts' sizes), then "random:<part>"
// (the same for one part's size).
std::vector<CorrespondenceRow> measure_correspondence(
    Session& s, const std::vector<CorrespondenceImage>& images,
    const std::vector<FeatureLayer>& layers, const std::vector<std::string>& part_names, int K,
    const MaskFill& fill, int batch);

// The last conv layer (filtering layer) and the last fc before the classifier (the penultimate
// layer with parameters and no geometry); only the conv layer when the classifier is the only fc.
std::vector<std::string> default_correspondence_layers(Net& net);

}  // namespace zf
