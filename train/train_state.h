// The state of a training run apart from its parameters: where it is (epoch, iteration, position
// in the epoch's seeded order: the RNG position, since every random draw is a function of seed and
// position), the learning-rate schedule's state, the running sums of an unfinished epoch, the
// per-epoch metrics and the input normalization. Stored in the checkpoint file beside the
// parameters (core/io/checkpoint.h):
//   /state attrs: seed, lr, position, best_metric, plateau_count, run_loss, run_correct, run_seen
//   /metrics/<column>                      one value per finished epoch
//   /data/mean [C,H,W], /data/inv_std [C], attr scale: the input normalization (our addition)
//   /data/classes [K] strings: the class names, when known; attr imported_from (zf_import)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "train/loader.h"

namespace zf {

struct EpochMetrics {
  int epoch = 0;
  double lr = 0, train_loss = 0, train_top1 = 0, val_loss = 0, val_top1 = 0, val_top5 = 0,
         seconds = 0;
};

struct TrainState {
  int epoch = 0;          // epochs finished
  int64_t iteration = 0;  // SGD steps taken
  uint64_t seed = 0;
  double lr = 0;           // the learning rate in force
  int64_t position = 0;    // next sample position in the epoch's order (0 at epoch boundaries)
  double best_metric = 0;  // on-plateau schedule state
  int plateau_count = 0;
  double run_loss = 0;  // sums over the unfinished epoch's batches (for a mid-epoch resume)
  int64_t run_correct = 0, run_seen = 0;
  std::vector<EpochMetrics> metrics;
  // The input normalization the net was trained with (mean of the padded image [c,h,w],
  // inv_std [c], scale), so that visualization normalizes exactly as training did; an empty mean
  // when the checkpoint stores none.
  Normalizer norm;
  // The name of each output class (empty when unknown: predictions then show the index), and for a
  // checkpoint zf_import wrote, the weights file it came from.
  std::vector<std::string> classes;
  std::string imported_from;
  // The number of data-parallel ranks of the run that wrote it (/state attr ranks, absent for 1):
  // informative only, a run resumes with any number.
  int ranks = 1;
};

// What a run's checkpoint holds besides the parameters.
struct RunCheckpoint {
  std::string arch, config;
  TrainState state;
};

// Writes parameters, momenta and `s` atomically; the header's arch is the net's.
void save_run_checkpoint(const std::string& path, Net& net, const std::string& config,
                         const TrainState& s);
// Reads everything but the parameters (no net needed).
RunCheckpoint read_run_checkpoint(const std::string& path);
// Reads everything and loads the parameters into `net` (same architecture).
RunCheckpoint load_run_checkpoint(const std::string& path, Net& net);

}  // namespace zf
