// Feeds the loader's batches to the training step, on the CPU as they are and on the GPU through
// page-locked staging buffers uploaded on the backend's upload stream (see Feeder).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "train/loader.h"

namespace zf {

// A training batch as the step sees it: tensors on the net's device, labels also on the host.
struct StepInput {
  const Tensor* x = nullptr;
  const Tensor* labels = nullptr;
  const int32_t* host_labels = nullptr;
  int64_t count = 0;
};

// Feeds the loader's batches to the step. On the CPU it hands them over as they are. On the GPU
// each batch is copied into page-locked memory and uploaded on the backend's upload stream;
// prefetch(), called once the current step's backward pass is queued, starts the next batch's
// upload so that it overlaps with that backward pass. Two slots alternate, so a slot is refilled
// only after the step that used it has been synchronized with (the loss read-back of the following
// step's forward pass).
class Feeder {
 public:
  Feeder(Loader& loader, Device device) : loader_(loader), device_(device) {}

  // The next batch (false at the end of the epoch).
  bool next(StepInput* in);
  // Starts the next batch's upload (GPU); a no-op on the CPU or when one is already queued.
  void prefetch();

 private:
  struct Slot {
    Tensor pin_x, pin_labels, dev_x, dev_labels;
    std::vector<int32_t> host_labels;
    int64_t count = 0;
  };
  Loader& loader_;
  Device device_;
  Slot slots_[2];
  int fill_ = 0, ready_ = 0;
  bool queued_ = false, have_ = false;
};

}  // namespace zf
