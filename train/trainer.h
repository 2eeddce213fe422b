// The training loop behind zf_train, in parts (trainer.cpp): a run (effective config, net, data,
// train state) is opened, started or resumed, and then runs epochs of steps (forward, backward,
// the optimizer's step: core/nn/optimizer.h) over a seeded shuffled order; after each epoch it
// evaluates, applies the learning-rate schedule (train/schedule.h) and writes checkpoints
// (<out>/ckpt/last.h5 each epoch, epoch_NNN.h5 at the snapshot epochs, with the train state:
// train/train_state.h) and metrics.csv. Command-line overrides are applied to the config before
// it is read, and checkpoints store that effective config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nn/net.h"
#include "train/comm.h"
#include "train/config.h"
#include "train/train_state.h"

namespace zf {

struct TrainOptions {
  std::string config;     // YAML path
  std::string out;        // output folder; default runs/<config name>
  std::string device;     // cpu | cuda | auto; default: the config's train.device
  std::string conv_math;  // fp32 | tf32: overrides train.conv_math
  bool resume = false;    // continue from <out>/ckpt/last.h5
  int64_t max_iters = 0;  // stop after this many SGD steps in all (0 = no limit), saving last.h5
  int epochs = 0;         // override train.epochs
  int64_t seed = -1;      // override train.seed
  int64_t limit_train = -1, limit_val = -1;  // override data.limit_*
  int batch = 0;                             // override train.batch
  std::string train_data, val_data;          // override data.train / data.val
  bool evaluate_only = false;                // evaluate <out>/ckpt/last.h5 on the validation set
  // Start from another checkpoint's weights (a zf_import'ed net, another run) instead of random
  // ones, loaded by layer name; the layers in `reinit` (e.g. the last one, for a new number of
  // classes) are initialized as the config says instead. The input normalization is taken from
  // that checkpoint too when it fits the data (same channels; a per-channel one at any size).
  std::string init_from;
  std::vector<std::string> reinit;
  // Data-parallel training (train/comm.h): the ranks mpirun started, each computing its slice of
  // every global batch of train.batch samples; rank 0 alone writes files and prints. Null: one
  // process.
  Comm* comm = nullptr;
  // GPU training only: sum the gradients through NCCL even with one rank (a check of the NCCL
  // path on a machine without MPI: the sum is then the identity, and the weights are the same
  // bits as without it).
  bool nccl = false;
};

// The result of a run, for the CLI and the tests.
struct TrainResult {
  TrainState state;
  bool finished = false;  // all epochs done (false when stopped by max_iters)
};

// Data-parallel training's gradient buckets: ranges (in floats) of Net::param_grad_block(), each
// the gradients of consecutive layers, listed in the order the backward pass completes them (the
// last layer's first). A bucket closes at the first layer that brings it to `min_bytes`, and at the
// lowest layer with parameters; together the buckets tile the block.
struct GradBucket {
  int layer = 0;  // the bucket's lowest layer: complete once this layer's backward is queued
  size_t begin = 0, end = 0;
};
constexpr size_t kGradBucketBytes = size_t{25} << 20;
std::vector<GradBucket> plan_grad_buckets(Net& net, size_t min_bytes = kGradBucketBytes);
// The backward pass of `pass`, starting each bucket's sum over `comm` (Comm::sum_start, with each
// rank's `weight`) as soon as its layers are done, then Comm::sum_finish().
void backward_and_sum(Net& net, const Pass& pass, Comm& comm, float weight,
                      size_t min_bytes = kGradBucketBytes);

// Throws zf::Error on bad input; Diverged when the loss, a parameter or a gradient becomes NaN/Inf
// (nothing non-finite is written); Interrupted after SIGINT/SIGTERM (state saved first).
TrainResult train(const TrainOptions& opt);

// Data-parallel runs: a failure before training that the ranks agreed on. `report` is false on the
// ranks that need not print it (rank 0 reports what every rank met, such as a bad config, once).
class StartFailed : public Error {
 public:
  StartFailed(const std::string& what, bool report) : Error(what), report_(report) {}
  bool report() const { return report_; }

 private:
  bool report_;
};

class Diverged : public Error {
 public:
  using Error::Error;
};

// SIGINT or SIGTERM stopped the run after its step in flight; last.h5 holds the state, and the
// same command with --resume continues it (bit-identical to a run that was never stopped).
class Interrupted : public Error {
 public:
  Interrupted(const std::string& what, int sig) : Error(what), signal_(sig) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;  // top-k are accuracies in [0, 1]
  int64_t count = 0;
};
// Evaluates `net` on `ds` (center crop or 10 crops as data.eval_crops says); `quiet`: no progress.
// With `comm` of several ranks, each rank evaluates its slice of every batch of `batch` (as in
// training) and all get the totals; the loss is then summed in float per rank, in rank order.
EvalResult evaluate(Net& net, const Dataset& ds, const DataConfig& dc, const Normalizer& norm,
                    int batch, bool quiet = false, Comm* comm = nullptr);

}  // namespace zf
