// HDF5 checkpoints (DESIGN section 5), shared by training and visualization. Written to a temporary
// name in the same folder and renamed, so a crash never leaves a torn file under the final name.
//   / attrs: format="zfnet-checkpoint", version=1, epoch, iteration, arch, config
//   /params/<layer>/weight|bias            float32, PyTorch layouts
//   /optim/<layer>/weight_momentum|bias_momentum
//   /state attrs: seed, lr, position, best_metric, plateau_count
//   /metrics/<column>                      one value per finished epoch
//   /data/mean [C,H,W], /data/inv_std [C], attr scale: the input normalization (our addition)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/net.h"

namespace zf {

struct EpochMetrics {
  int epoch = 0;
  double lr = 0, train_loss = 0, train_top1 = 0, val_loss = 0, val_top1 = 0, val_top5 = 0,
         seconds = 0;
};

struct CheckpointMeta {
  int epoch = 0;          // epochs finished
  int64_t iteration = 0;  // SGD steps taken
  std::string arch;       // Net::arch() of the saving net
  std::string config;     // the YAML text the net was built from
  uint64_t seed = 0;
  double lr = 0;           // the learning rate in force
  int64_t position = 0;    // next sample position in the epoch's order (0 at epoch boundaries)
  double best_metric = 0;  // on-plateau schedule state
  int plateau_count = 0;
  double run_loss = 0;  // sums over the unfinished epoch's batches (for a mid-epoch resume)
  int64_t run_correct = 0, run_seen = 0;
  std::vector<EpochMetrics> metrics;
  // The input normalization the net was trained with (/data: mean [C,H,W] of the padded image,
  // inv_std [C], scale), so visualization normalizes exactly as training did.
  Shape data_mean_shape;
  std::vector<float> data_mean, data_inv_std;
  float data_scale = 1.f;
};

void save_checkpoint(const std::string& path, Net& net, const CheckpointMeta& meta);
// Reads the metadata only (no net needed).
CheckpointMeta read_checkpoint_meta(const std::string& path);
// Reads metadata and loads parameters and momenta into `net`, which must have the same
// architecture.
CheckpointMeta load_checkpoint(const std::string& path, Net& net);

}  // namespace zf
