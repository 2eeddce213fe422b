// What keeps a training run's outputs whole (issue 11): the stop signals (SIGINT/SIGTERM end the
// step in flight, then the run saves and stops), the check for non-finite parameters and gradients
// before anything is written, and durable writes of small text files (metrics.csv).
#pragma once

#include <string>

#include "core/nn/net.h"

namespace zf {

// Installs handlers for SIGINT and SIGTERM that only note the signal, for the life of the object,
// and restores the previous handlers afterwards. The trainer asks pending() after every step.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int pending() const;  // the signal received (SIGINT or SIGTERM), 0 when none
};
const char* signal_name(int sig);  // "SIGINT", "SIGTERM"

// The first parameter (or its gradient, when with_grads) holding NaN or Inf, as "layer/weight" or
// "layer/weight gradient"; "" when all are finite. One count on the device over every tensor and
// one read-back; the per-tensor search runs only when something was found. `count` is a reused
// f32 [1] buffer on the net's device.
std::string find_nonfinite(Net& net, bool with_grads, Tensor& count);

// Writes `text` to `path` through `path`.tmp: written, flushed and fsync'ed, renamed into place, and
// the directory fsync'ed, so that after a crash `path` is either the old file or the new one.
void write_text_durably(const std::string& path, const std::string& text);

}  // namespace zf
