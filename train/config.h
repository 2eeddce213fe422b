// The training and data sections of a config (the `layers:` and `input:` sections belong to Net).
// Every key is checked: unknown keys and wrong types are rejected with their YAML path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
};

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
};

struct Config {
  std::string name, source, text;  // `name:`, file path, full YAML text
  DataConfig data;
  TrainConfig train;
};

Config load_config(const std::string& path);
Config parse_config(const std::string& text, const std::string& source);

std::unique_ptr<Dataset> open_dataset(const DataConfig& d, bool train_split);

}  // namespace zf
