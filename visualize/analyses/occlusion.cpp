// PLACEHOLDER: being written (issue 12); must not land as is.
#include "visualize/analyses/occlusion.h"

namespace zf {

void run_occlusion(const OcclusionOptions&) {
  ZF_THROW("zf_analyze occlusion: not written yet");
}

}  // namespace zf
