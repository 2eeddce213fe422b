// The learning-rate schedule between epochs (config train.schedule): none, step (lr *= gamma every
// step_epochs) or plateau (lr *= gamma after `patience` epochs without a relative val-loss
// improvement of `threshold`, never below min_lr). Its state lives in the TrainState, so a resumed
// run continues the schedule where it was.
#pragma once

#include "train/config.h"
#include "train/train_state.h"

namespace zf {

// Updates s.lr (and the plateau state) after epoch `m` finished; `has_val`: m's val_loss is real.
void schedule_after_epoch(const ScheduleConfig& sc, const EpochMetrics& m, bool has_val,
                          TrainState& s);

}  // namespace zf
