// PLACEHOLDER: being written (issue 12); must not land as is.
#include "visualize/analyses/correspondence.h"

#include "core/check.h"

namespace zf {

void run_correspondence(const CorrespondenceOptions&) {
  ZF_THROW("zf_analyze correspondence: not written yet");
}

}  // namespace zf
