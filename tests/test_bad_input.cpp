// Bad input that belongs to no op family: impossible shapes and device names raise zf::Error whose
// message shows the offending value. (Each op family's bad-input cases are in
// tests/ops/test_<family>.cpp.)
#include <gtest/gtest.h>

#include <string>

#include "core/tensor.h"
#include "test_util.h"

using namespace zf;

namespace {

TEST(BadInput, Shape) {
  EXPECT_ZF_ERROR(Shape({2, -1}), "Shape", "-1");
  EXPECT_ZF_ERROR(Shape({1, 2, 3, 4, 5}), "Shape", "5");
  EXPECT_ZF_ERROR(parse_device("tpu"), "tpu");
}

}  // namespace
