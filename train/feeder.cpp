// The training input feeder (see feeder.h).
#include "train/feeder.h"

#include <cstring>

namespace zf {

Feeder::Feeder(Loader& loader, Device device) : loader_(loader), device_(device) {
  for (Slot& s : slots_) {
    s.uploaded = backend::Event(device);
    s.consumed = backend::Event(device);
  }
}

bool Feeder::next(StepInput* in) {
  if (!device_.is_cuda()) {
    const Batch* b = loader_.next();
    if (!b) return false;
    *in = StepInput{&b->x, &b->labels, b->labels.i32(), b->count, b->offset, b->batch_count};
    return true;
  }
  // Everything the previous step queued has been queued by now: mark where its use of its slot
  // ends.
  if (held_ >= 0) slots_[held_].consumed.record(backend::Queue::Compute);
  held_ = -1;
  if (!queued_) prefetch();
  if (!have_) return false;
  Slot& s = slots_[ready_];
  s.uploaded.wait(backend::Queue::Compute);
  *in = StepInput{&s.dev_x, &s.dev_labels, s.host_labels.data(), s.count, s.offset, s.batch_count};
  held_ = ready_;
  queued_ = false;
  return true;
}

void Feeder::prefetch() {
  if (!device_.is_cuda() || queued_) return;
  const Batch* b = loader_.next();
  have_ = b != nullptr;
  queued_ = true;
  if (!have_) return;
  Slot& s = slots_[fill_];
  if (!s.uploaded.done()) s.uploaded.synchronize();  // its page-locked buffers are still being read
  s.pin_x.ensure_pinned(b->x.shape());
  s.pin_labels.ensure_pinned(b->labels.shape(), DType::I32);
  std::memcpy(s.pin_x.raw(), b->x.raw(), b->x.bytes());
  std::memcpy(s.pin_labels.raw(), b->labels.raw(), b->labels.bytes());
  s.host_labels.assign(b->labels.i32(), b->labels.i32() + b->count);
  s.count = b->count, s.offset = b->offset, s.batch_count = b->batch_count;
  s.dev_x.ensure(b->x.shape(), device_);
  s.dev_labels.ensure(b->labels.shape(), device_, DType::I32);
  s.consumed.wait(backend::Queue::Upload);  // the step that last read dev_x, dev_labels is done
  s.pin_x.upload_async_to(s.dev_x);
  s.pin_labels.upload_async_to(s.dev_labels);
  s.uploaded.record(backend::Queue::Upload);
  ready_ = fill_;
  fill_ ^= 1;
}

}  // namespace zf
