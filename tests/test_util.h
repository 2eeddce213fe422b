// Helpers shared by the test files: seeded random tensors (never zeros), poisoned outputs (so an
// element an op forgets to write fails the comparison), comparisons with a relative error that
// names the worst element, the error message of a throwing call, and what the op families' files
// (tests/ops/test_<family>.cpp) share: the modes a table row runs in, their tolerances, the
// finite-difference checker, and the CPU-vs-CUDA comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/cpu/cpu_ops.h"
#include "core/tensor.h"
#include "naive.h"

namespace tu {

using Rng = std::mt19937_64;

// The CPU ops' reference loops (ZF_CPU_KERNELS=reference) while it lives, then the choice before.
class ReferenceKernels {
 public:
  ReferenceKernels() : before_(zf::cpu::reference_kernels()) { zf::cpu::set_reference_kernels(true); }
  ~ReferenceKernels() { zf::cpu::set_reference_kernels(before_); }
  ReferenceKernels(const ReferenceKernels&) = delete;
  ReferenceKernels& operator=(const ReferenceKernels&) = delete;

 private:
  bool before_;
};

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

// ---- the modes of an op family's table (ggml's test-backend-ops: each case stated once) ---------
// A row of a family's case table names the modes it runs in; each mode's test runs the rows that
// carry its bit.
enum Mode : unsigned {
  kNaive = 1u,  // the CPU op against the naive float64 loop (naive.cpp)
  kGrad = 2u,   // the backward ops against central differences of the CPU forward
  kCuda = 4u,   // the CUDA op against the CPU op (a GPU, or the emulator in zf_tests_emu)
};

// Tolerances of the naive mode: float32 sums of up to a few thousand products against float64 are
// within 1e-4 of the typical magnitude; elementwise ops do one or two float operations per element.
constexpr double kSumTol = 1e-4;
constexpr double kElemTol = 1e-6;

// ---- finite-difference gradients (Caffe style)
// ---------------------------------------------------- For an op y = f(x, ...) the scalar objective
// is L = sum_i y_i r_i with a fixed random r, so the analytic gradient is the op's backward with dy
// = r. The numerical derivative is a central difference (L(x + h) - L(x - h)) / (2h) taken THROUGH
// THE FLOAT32 OP ITSELF (not through naive.cpp): this checks that each backward is the derivative
// of its own forward, independently of the float64 references. L is accumulated in double, so the
// only float error is the rounding of the y_i that the perturbation changes (unchanged y_i cancel
// exactly); the step h is 1e-2 on O(1) inputs and the actual perturbation (float(x + h) - float(x -
// h)) is used as the denominator. Errors are |a - n| / max(|a|, |n|, 1), and must stay below
// kGradTol. The families keep inputs away from kinks (ReLU inputs >= 0.1 from 0, max-pool inputs
// distinct by 0.05 > 2h), so that no perturbation changes a mask or a switch.
constexpr double kGradTol = 1e-3;
// Elementwise ops (relu, dropout) treat every element alike: a random sample of them suffices, and
// keeps the number of op calls small (each is an OpenMP region, slow when ctest -j oversubscribes).
constexpr int64_t kElementwisePoints = 40;

double dot(const zf::Tensor& y, const zf::Tensor& r);  // sum_i y_i r_i in double

struct GradCheck {
  double max_err = 0;
  int64_t worst = -1;
  double analytic = 0, numeric = 0;
  int64_t checked = 0;
};
std::ostream& operator<<(std::ostream& os, const GradCheck& c);

// Compares analytic[i] with the central difference of objective() in param[i] for every element of
// param, or for max_points random ones when it is larger.
GradCheck grad_check(zf::Tensor& param, const zf::Tensor& analytic,
                     const std::function<double()>& objective, double h, Rng& g,
                     int64_t max_points = 400);
::testing::AssertionResult passes(const GradCheck& c);

// ---- CPU against CUDA
// ------------------------------------------------------------------------------ Values must agree
// to kCudaTol; switches, masks and rectifications exactly (tol 0).
constexpr double kCudaTol = 1e-5;

zf::Tensor dev(const zf::Tensor& t);  // a copy on the CUDA device
zf::Tensor dev_poisoned(const zf::Shape& s, zf::DType t = zf::DType::F32);
// The device output stayed on the device and matches the CPU result (i32: exactly).
::testing::AssertionResult matches(const zf::Tensor& on_device, const zf::Tensor& on_cpu,
                                   double tol = kCudaTol);

// ---- bad input
// ---------------------------------------------------------------------------------------
zf::Tensor f32(const zf::Shape& s);  // zeros: bad-input cases fail before reading any value
zf::Tensor i32(const zf::Shape& s);

}  // namespace tu

// A CUDA mode test skips itself where no GPU (or emulator) is usable, so the binary runs anywhere.
#define ZF_REQUIRE_CUDA() \
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status()

// The statement throws zf::Error and its message contains every one of the strings that follow.
#define EXPECT_ZF_ERROR(stmt, ...)                                       \
  do {                                                                   \
    const std::string msg_ = tu::error_of([&] { stmt; });                \
    for (const char* part_ : {__VA_ARGS__})                              \
      EXPECT_NE(msg_.find(part_), std::string::npos)                     \
          << #stmt << "\n  message: " << msg_ << "\n  lacks: " << part_; \
  } while (0)
