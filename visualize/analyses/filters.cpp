// PLACEHOLDER: being written (issue 12); must not land as is.
#include "visualize/analyses/filters.h"

#include "core/check.h"

namespace zf {

void run_filters(const FiltersOptions&) {
  ZF_THROW("zf_analyze filters: not written yet");
}

}  // namespace zf
