// A checkpoint opened for visualization (its config, net with the weights loaded, and input
// normalization) and the images it is shown: a data set read with the config's data format, or
// image files given on the command line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/nn/net.h"
#include "train/config.h"
#include "train/loader.h"
#include "train/train_state.h"

namespace zf {

struct Session {
  std::string checkpoint;
  Config cfg;
  RunCheckpoint meta;  // what the checkpoint holds besides the parameters
  std::unique_ptr<Net> net;
  Normalizer norm;
};
// config_path "" = the config stored in the checkpoint.
Session open_session(const std::string& checkpoint, const std::string& config_path, Device device);
// data "" = the config's validation set (else its training set); otherwise a path read with the
// config's data format (IDX prefix, image folder, or packed HDF5).
std::unique_ptr<Dataset> open_session_data(const Session& s, const std::string& data,
                                           int64_t limit);
// Image files, each resized and center-cropped to the size the config's transform expects before
// padding, as a data set (label 0) for view_sample.
std::unique_ptr<Dataset> open_image_files(const Session& s, const std::vector<std::string>& files);


}  // namespace zf
