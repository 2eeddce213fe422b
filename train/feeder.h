// Feeds the loader's batches to the training step, on the CPU as they are and on the GPU through
// page-locked staging buffers uploaded on the device's upload stream (see Feeder).
#pragma once

#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "core/tensor.h"
#include "train/loader.h"

namespace zf {

// A training batch as the step sees it: tensors on the net's device, labels also on the host.
struct StepInput {
  const Tensor* x = nullptr;
  const Tensor* labels = nullptr;
  const int32_t* host_labels = nullptr;
  int64_t count = 0;
  int64_t offset = 0, batch_count = 0;  // this rank's slice of the global batch (Batch)
};

// Feeds the loader's batches to the step. On the CPU it hands them over as they are. On the GPU
// each batch is copied into page-locked memory and uploaded on the device's upload stream;
// prefetch(), called once the current step's work is queued (after its backward pass), starts the
// next batch's upload so that it overlaps with that work. Two slots alternate, and events, not
// incidental waits, guard their reuse:
//   - the compute stream waits for a slot's upload (event `uploaded`) before the step that uses it;
//   - next() marks, on the compute stream, the end of the previous step's work (event `consumed`
//     of the slot that step used: the trainer queues all of a step's work before it asks for the
//     next batch), and the upload stream waits for it before overwriting that slot's device
//     buffers;
//   - before the host refills a slot's page-locked buffers, that slot's previous upload must have
//     finished: the event is queried, and the host waits only when it has not (rarely: the upload
//     was queued a whole step earlier).
// The step's tensors (StepInput) stay valid until the next call to next().
class Feeder {
 public:
  Feeder(Loader& loader, Device device);

  // The next batch (false at the end of the epoch).
  bool next(StepInput* in);
  // Starts the next batch's upload (GPU); a no-op on the CPU or when one is already queued.
  void prefetch();

 private:
  struct Slot {
    Tensor pin_x, pin_labels, dev_x, dev_labels;
    std::vector<int32_t> host_labels;
    int64_t count = 0, offset = 0, batch_count = 0;
    backend::Event uploaded, consumed;
  };
  Loader& loader_;
  Device device_;
  Slot slots_[2];
  int fill_ = 0, ready_ = 0, held_ = -1;  // held_: the slot the step was last given
  bool queued_ = false, have_ = false;
};

}  // namespace zf
