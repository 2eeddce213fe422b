// What the analyses of zf_analyze share (../shared/ANALYSES.md): the images they are given (files,
// or samples of a data set with their labels) as 8-bit source images of the data set's size, i.e.
// before the padding and the final crop, so that an analysis can change the source (invariance
// transforms it) or the view (occlusion and correspondence paint over it) before the net sees it;
// the view and its normalization exactly as training prepared its evaluation samples; class names;
// and batched forward passes that return probabilities and a layer's activations on the host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "visualize/feature_layers.h"
#include "visualize/session.h"

namespace zf {

// Options every analysis takes.
struct AnalysisCommon {
  std::string checkpoint, config, device = "cpu", out = "analyze", classes;
  int batch = 64;
};

// Which images an analysis looks at: files (each with an optional label), or `samples` of a data
// set (`data`, "" = the config's validation set), which carry their labels.
struct ImageSelection {
  std::vector<std::string> files;
  std::vector<int> labels;       // one per file, or empty (unknown), or one for all files
  std::string data;              // with `samples`
  std::vector<int64_t> samples;  // data-set indices
};

struct AnalysisImage {
  std::string name;          // file stem, or "sample<index>"
  std::string source;        // the file, or the data set and index
  int label = -1;            // -1: not known
  std::string dataset;       // the data set of a sample ("" for a file)
  int64_t sample = -1;       // its index there
  std::vector<uint8_t> src;  // [C, S, S] 8-bit, S = the data set's image side (before padding)
};

// Opens and checks every image before any work (a file that does not decode or whose channels are
// not the net's, a sample out of range or a label outside the net's classes fails naming it). Two
// images whose outputs would share a name, and --label without --image files, are command-line
// errors (CliError).
std::vector<AnalysisImage> load_images(const Session& s, const ImageSelection& sel);

// The images as a data set (their labels, 0 where unknown), for the visualization library's
// functions that take one (project_full, mining). Refers to `images`, which must outlive it.
std::unique_ptr<Dataset> images_dataset(const Session& s, const std::vector<AnalysisImage>& images);

// The data set's image side S and channels C the sources have.
int source_side(const Session& s);
int source_channels(const Session& s);

// The evaluation view of a source image (padding, center crop) as the net sees it: `x` [C,H,W]
// normalized, `pixels` [C,H,W] 8-bit (the same view before normalization). Bit for bit what
// zf_train's evaluation feeds the net for the same source.
struct NetView {
  std::vector<float> x;
  std::vector<uint8_t> pixels;
};
NetView net_view(const Session& s, const uint8_t* src);

// The value of a view pixel that the normalization maps to 0 (the data mean at that position, as
// floats in pixel units): what "grey" means for an occluder or a mask. [C, H, W] of the view.
std::vector<float> view_mean(const Session& s);

// Class names: one per line of `file` when given, else those the checkpoint stores (/data/classes),
// else the names of the config's data set when it opens (an image folder's classes), else "0",
// "1", ... Exactly as many as the net's outputs.
std::vector<std::string> class_names(const Session& s, const std::string& file);

// Runs x [N,C,H,W] (host) through the net in eval mode in chunks of `batch`, and returns on the
// host: the class probabilities [N, K] when `probs`, and the activation of layer index `act` for
// each index in `acts` (each [N, ...]).
struct Forward {
  Tensor probs;
  std::vector<Tensor> acts;
};
Forward forward_host(Session& s, const Tensor& x, const std::vector<int>& acts, bool probs,
                     int batch);

// The paper's "layer 7": the last layer with parameters and no sliding window (an fc) before the
// classifier (the last such layer); "" when the net has fewer than two. The analyses' default
// high layer.
std::string penultimate_fc(Net& net);

// Feature layers by name (any layer but the loss), each checked.
std::vector<FeatureLayer> feature_layers(Net& net, const std::vector<std::string>& names);

// The top class (first maximum) of probabilities row n.
int top_class(const Tensor& probs, int64_t n);

// Lower-cases and keeps what the bitmap font draws (render.h): for labels in figures.
std::string figure_text(const std::string& s);

}  // namespace zf
