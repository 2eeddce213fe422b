// PLACEHOLDER: being written (issue 12); must not land as is.
#include "visualize/analyses/invariance.h"

#include "core/check.h"

namespace zf {

void run_invariance(const InvarianceOptions&) {
  ZF_THROW("zf_analyze invariance: not written yet");
}

}  // namespace zf
