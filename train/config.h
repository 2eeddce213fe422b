// A config, parsed once into typed structs: data, train, and the net spec (input: and layers:).
// Every key of every map is checked by one validator (core/keys.h): unknown keys are named with the
// closest known key, wrong values and wrong YAML node kinds (a list where a number belongs) with
// the file and the key's path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/nn/net_spec.h"
#include "train/dataset.h"
#include "train/loader.h"

namespace zf {

struct DataConfig {
  std::string format = "idx";  // idx | folder | hdf5
  std::string train, val;      // idx: path prefix (DIR/train -> DIR/train-images-idx3-ubyte[.gz]);
                               // folder: root/<class>/*.jpg; hdf5: packed file
  int64_t limit_train = 0, limit_val = 0;  // use only the first N samples (0 = all)
  int image_size = 0;                      // folder: side every image is resized/center-cropped to
  int channels = 3;                        // folder: 1 or 3
  TransformSpec transform;
  int eval_crops = 1;  // 1 (center) or 10 (corners + center, with flips)
  int threads = 2;     // loader threads
  // A text file with one class name per line (as given; a relative path is also looked up beside
  // the config), stored in checkpoints for predictions and figures; empty: the data set's names.
  std::string classes;
};

// One name per line of `path` (blank lines and a trailing newline ignored); errors name the file.
std::vector<std::string> read_class_names(const std::string& path);

struct ScheduleConfig {
  std::string type = "none";  // none | step | plateau
  int step_epochs = 30;       // step: lr *= gamma every step_epochs
  float gamma = 0.1f;
  int patience = 2;         // plateau: epochs without a val-loss improvement before lr *= gamma
  float threshold = 1e-3f;  // plateau: relative improvement that counts
  float min_lr = 1e-6f;
};

struct TrainConfig {
  int batch = 64;
  int epochs = 10;
  float lr = 0.01f, momentum = 0.9f, weight_decay = 5e-4f;
  float renorm_radius = 0.1f;  // 0 disables the filter renormalization
  ScheduleConfig schedule;
  std::vector<int> snapshots;
  uint64_t seed = 1;
  std::string device = "cpu";
  // The GPU convolutions' arithmetic (core/context.h): fp32 or tf32 (tensor cores); empty: what
  // ZF_CONV_MATH says, else fp32. No effect on the CPU.
  std::string conv_math;
  // Mid-epoch checkpoints (<out>/ckpt/last.h5): every `checkpoint_every` minutes (0: off) and every
  // `checkpoint_every_iters` steps (0: off); epoch ends always write one.
  double checkpoint_every = 10;
  int64_t checkpoint_every_iters = 0;
  // Every this many steps (and before every checkpoint) the parameters and their gradients are
  // checked for NaN/Inf on the device; 0: only before checkpoints.
  int64_t finite_check_every = 200;
};

struct Config {
  std::string name, source, text;  // `name:`, file path, the effective YAML text (see below)
  DataConfig data;
  TrainConfig train;
  NetSpec net;  // built with build_net(cfg.net)
};

// A command-line override of one config value: the key's dotted path in the YAML ("train.epochs",
// "data.train") and its new value as YAML scalar text.
struct ConfigOverride {
  std::string key, value;
};

// The overrides are applied to the YAML before it is read, so they are checked like the file's own
// values, and `text` is the effective config: the file's text when there are none, else the YAML
// with them applied (what a checkpoint stores, so that it describes the run as it ran).
Config load_config(const std::string& path, const std::vector<ConfigOverride>& overrides = {});
Config parse_config(const std::string& text, const std::string& source,
                    const std::vector<ConfigOverride>& overrides = {});

std::unique_ptr<Dataset> open_dataset(const DataConfig& d, bool train_split);

}  // namespace zf
