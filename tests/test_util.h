// Helpers shared by the test files: seeded random tensors (never zeros), poisoned outputs (so an
// element an op forgets to write fails the comparison), comparisons with a relative error that
// names the worst element, and the error message of a throwing call.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "naive.h"

namespace tu {

using Rng = std::mt19937_64;

// Uniform in [lo, hi).
zf::Tensor uniform(const zf::Shape& s, Rng& g, float lo = -1.f, float hi = 1.f);
// Uniform in [lo, hi) with a random sign: |x| >= lo, keeping inputs away from a kink at 0.
zf::Tensor away_from_zero(const zf::Shape& s, Rng& g, float lo, float hi);
// Each element one of `levels`, so that equal values (ties) are common.
zf::Tensor quantized(const zf::Shape& s, Rng& g, const std::vector<float>& levels);
// A random permutation of the values offset + gap * i: every pair of elements differs by >= gap.
zf::Tensor distinct(const zf::Shape& s, Rng& g, float gap);
// Class labels in [0, classes), i32.
zf::Tensor labels(int64_t n, int classes, Rng& g);

// An output of shape s on device d whose every element is garbage: NaN for f32, a value no switch
// can take for i32. An op that leaves any element unwritten fails the comparison.
zf::Tensor poisoned(const zf::Shape& s, zf::Device d = zf::Device::CPU,
                    zf::DType t = zf::DType::F32);
constexpr int32_t kPoisonIndex = -777777;

// The largest |got - want| / max(|want|, floor) over all elements, floor = mean |want| (so that
// results that happen to be near zero are judged against the tensor's typical size, the scale of
// the float rounding in a long sum). NaN or a shape mismatch fails. rtol = 0 demands exact
// equality.
::testing::AssertionResult near(const zf::Tensor& got, const naive::DT& want, double rtol);
::testing::AssertionResult near(const zf::Tensor& got, const zf::Tensor& want, double rtol);
::testing::AssertionResult near(double got, double want, double rtol);
// Same i32 values, element by element.
::testing::AssertionResult same_ints(const zf::Tensor& got, const std::vector<int32_t>& want);
::testing::AssertionResult same_ints(const zf::Tensor& got, const zf::Tensor& want);

// The message of the zf::Error thrown by f, or a description of what happened instead.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const zf::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<not a zf::Error: ") + e.what() + ">";
  }
  return "<no exception>";
}

}  // namespace tu
