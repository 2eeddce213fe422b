// Builds without cuDNN: zf_bench prints no reference rows (see cudnn_ref.h).
#include "bench/cudnn_ref.h"
#include "core/check.h"

namespace zf::bench {
bool cudnn_built() {
  return false;
}
CudnnConvTimes cudnn_conv_times(int, int, int, int, int, int, int, int, int, bool) {
  ZF_THROW("zf_bench was built without cuDNN");
}
double cudnn_lrn_ms(int, int, int, int, int, double, double, double, bool, int) {
  ZF_THROW("zf_bench was built without cuDNN");
}
}  // namespace zf::bench
