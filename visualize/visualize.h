// Deconvnet visualization (DESIGN section 4): receptive fields, top-k mining of activations over a
// data set, projection of single activations to pixel space, and the pictures made of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/net.h"
#include "train/config.h"
#include "train/image_io.h"
#include "train/loader.h"
#include "train/train_state.h"

namespace zf {

// A checkpoint opened for visualization: its config, net (weights loaded), and input normalization.
struct Session {
  std::string checkpoint;
  Config cfg;
  RunCheckpoint meta;
  std::unique_ptr<Net> net;
  Normalizer norm;
};
// config_path "" = the config stored in the checkpoint.
Session open_session(const std::string& checkpoint, const std::string& config_path, Device device);
// data "" = the config's validation set (else its training set); otherwise a path read with the
// config's data format (IDX prefix, image folder, or packed HDF5).
std::unique_ptr<Dataset> open_session_data(const Session& s, const std::string& data,
                                           int64_t limit);

// "Layer L" of the paper: the rectified output of a conv layer, i.e. the ReLU right after it when
// there is one. Throws naming the layer when it does not exist or is not a conv layer.
struct VisLayer {
  std::string name;  // the conv layer's name
  int conv = -1;     // its index
  int act = -1;      // index of the activation shown (the ReLU after it, or the conv itself)
  int features = 0;
};
VisLayer find_vis_layer(Net& net, const std::string& name);
std::vector<VisLayer> conv_layers(Net& net);

// Unit u of a layer's output sees input pixels [first + u*jump, first + u*jump + size) on each
// axis.
struct Field {
  int size = 1, jump = 1, first = 0;
};
Field receptive_field(Net& net, int layer);

struct Hit {
  float value = 0;
  int64_t image = -1;
  int y = 0, x = 0;
};
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

// One forward pass over `ds`: for every feature map of every layer, the strongest activation of
// each image is offered to that feature's TopK (so the k hits of a feature come from k different
// images).
std::vector<TopK> mine_topk(Session& s, const Dataset& ds, const std::vector<VisLayer>& layers,
                            int k, int batch);

// A projection of one activation (all others zero), cropped to the unit's receptive field, with the
// matching image patch. Both are [C, field, field]; pixels outside the image are 0.
struct Projection {
  std::vector<float> proj;
  std::vector<uint8_t> patch;
};
struct ProjectRequest {
  int feature;
  Hit hit;
};
std::vector<Projection> project_hits(Session& s, const Dataset& ds, const VisLayer& layer,
                                     const std::vector<ProjectRequest>& req,
                                     const ProjectOptions& opt, int batch);
// The whole input-sized projection of each request (no crop): [C, H, W] each.
std::vector<std::vector<float>> project_full(Session& s, const Dataset& ds, const VisLayer& layer,
                                             const std::vector<ProjectRequest>& req,
                                             const ProjectOptions& opt, int batch);

// ---- pictures
// -------------------------------------------------------------------------------------- A
// projection [C,h,w] for display: mid-gray is 0, and the largest |value| maps to 0 or 255 (one
// scale for all channels, so colours keep their balance). Scaled up by `zoom`.
Image display_projection(const float* chw, int c, int h, int w, int zoom);
Image display_patch(const uint8_t* chw, int c, int h, int w, int zoom);
Image blank_image(int width, int height, int channels, uint8_t value);
void paste(Image& dst, const Image& src, int x, int y);
// Draws `text` (digits, lowercase letters, space, '-', ':', '.') with a 5x7 font scaled by `scale`.
void draw_text(Image& img, int x, int y, const std::string& text, uint8_t value, int scale = 1);
int text_width(const std::string& text, int scale = 1);

}  // namespace zf
