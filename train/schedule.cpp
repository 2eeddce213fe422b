// The learning-rate schedule (see schedule.h).
#include "train/schedule.h"

#include <algorithm>

namespace zf {

void schedule_after_epoch(const ScheduleConfig& sc, const EpochMetrics& m, bool has_val,
                          TrainState& s) {
  if (sc.type == "step" && m.epoch % sc.step_epochs == 0) {
    s.lr *= sc.gamma;
  } else if (sc.type == "plateau" && has_val) {
    if (s.metrics.size() == 1 || m.val_loss < s.best_metric * (1.0 - sc.threshold)) {
      s.best_metric = m.val_loss;
      s.plateau_count = 0;
    } else if (++s.plateau_count >= sc.patience) {
      s.lr = std::max<double>(s.lr * sc.gamma, sc.min_lr);
      s.plateau_count = 0;
    }
  }
}

}  // namespace zf
