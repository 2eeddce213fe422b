// Helpers shared by the test files (see test_util.h).
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

namespace tu {

using zf::Device;
using zf::DType;
using zf::Shape;
using zf::Tensor;

Tensor uniform(const Shape& s, Rng& g, float lo, float hi) {
  Tensor t(s);
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(g);
  return t;
}

Tensor away_from_zero(const Shape& s, Rng& g, float lo, float hi) {
  Tensor t = uniform(s, g, lo, hi);
  std::bernoulli_distribution sign(0.5);
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (sign(g)) p[i] = -p[i];
  return t;
}

Tensor quantized(const Shape& s, Rng& g, const std::vector<float>& levels) {
  Tensor t(s);
  std::uniform_int_distribution<size_t> pick(0, levels.size() - 1);
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = levels[pick(g)];
  return t;
}

Tensor distinct(const Shape& s, Rng& g, float gap) {
  Tensor t(s);
  std::vector<int64_t> order(static_cast<size_t>(t.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), g);
  const float offset =
      -gap * static_cast<float>(t.numel()) / 2 + gap / 3;  // centred, never exactly 0
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = offset + gap * static_cast<float>(order[i]);
  return t;
}

Tensor labels(int64_t n, int classes, Rng& g) {
  Tensor t(Shape{n}, Device::CPU, DType::I32);
  std::uniform_int_distribution<int32_t> pick(0, classes - 1);
  for (int64_t i = 0; i < n; ++i) t.i32()[i] = pick(g);
  return t;
}

Tensor poisoned(const Shape& s, Device d, DType dt) {
  Tensor host(s, Device::CPU, dt);
  if (dt == DType::F32)
    host.fill(std::numeric_limits<float>::quiet_NaN());
  else
    std::fill(host.i32(), host.i32() + host.numel(), kPoisonIndex);
  return d == Device::CPU ? std::move(host) : host.to(d);
}

namespace {

std::vector<double> values(const Tensor& t) {
  if (!t.is_cpu()) return values(t.to(Device::CPU));
  const float* p = t.f32();
  return std::vector<double>(p, p + t.numel());
}

::testing::AssertionResult compare(const Shape& got_shape, const std::vector<double>& got,
                                   const Shape& want_shape, const std::vector<double>& want,
                                   double rtol) {
  if (got_shape != want_shape)
    return ::testing::AssertionFailure()
           << "shape " << got_shape.str() << ", expected " << want_shape.str();
  double floor = 0;
  for (double w : want) floor += std::fabs(w);
  floor = want.empty() ? 0 : floor / static_cast<double>(want.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double denom = std::max(std::fabs(want[i]), floor);
    double err = std::fabs(got[i] - want[i]);
    if (err != 0) err = denom > 0 ? err / denom : std::numeric_limits<double>::infinity();
    if (std::isnan(got[i]) || std::isnan(want[i])) err = std::numeric_limits<double>::infinity();
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  if (worst <= rtol) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(9);
  os << "relative error " << worst << " > " << rtol << " at flat index " << at << " of "
     << got_shape.str() << ": got " << got[at] << ", expected " << want[at] << " (floor " << floor
     << ")";
  return ::testing::AssertionFailure() << os.str();
}

std::vector<int32_t> int_values(const Tensor& t) {
  if (!t.is_cpu()) return int_values(t.to(Device::CPU));
  return naive::ints(t);
}

}  // namespace

::testing::AssertionResult near(const Tensor& got, const naive::DT& want, double rtol) {
  return compare(got.shape(), values(got), want.shape, want.v, rtol);
}

::testing::AssertionResult near(const Tensor& got, const Tensor& want, double rtol) {
  return compare(got.shape(), values(got), want.shape(), values(want), rtol);
}

::testing::AssertionResult near(double got, double want, double rtol) {
  return compare(Shape{1}, {got}, Shape{1}, {want}, rtol);
}

::testing::AssertionResult same_ints(const Tensor& got, const std::vector<int32_t>& want) {
  if (got.dtype() != DType::I32)
    return ::testing::AssertionFailure() << got.desc() << " is not i32";
  const std::vector<int32_t> g = int_values(got);
  if (g.size() != want.size())
    return ::testing::AssertionFailure() << g.size() << " values, expected " << want.size();
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i] != want[i]) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
    }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << g.size() << " differ; first at flat index " << first << ": got "
         << g[first] << ", expected " << want[first];
}

::testing::AssertionResult same_ints(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure()
           << "shape " << got.shape().str() << ", expected " << want.shape().str();
  return same_ints(got, int_values(want));
}

double dot(const Tensor& y, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.f32()[i]) * r.f32()[i];
  return s;
}

std::ostream& operator<<(std::ostream& os, const GradCheck& c) {
  return os << "max error " << c.max_err << " over " << c.checked << " elements; worst at "
            << c.worst << ": analytic " << c.analytic << ", numeric " << c.numeric;
}

GradCheck grad_check(Tensor& param, const Tensor& analytic,
                     const std::function<double()>& objective, double h, Rng& g,
                     int64_t max_points) {
  EXPECT_EQ(param.shape(), analytic.shape());
  std::vector<int64_t> points(static_cast<size_t>(param.numel()));
  for (int64_t i = 0; i < param.numel(); ++i) points[i] = i;
  if (param.numel() > max_points) {
    std::shuffle(points.begin(), points.end(), g);
    points.resize(static_cast<size_t>(max_points));
  }
  GradCheck c;
  float* p = param.f32();
  for (int64_t i : points) {
    const float saved = p[i];
    const float plus = static_cast<float>(saved + h), minus = static_cast<float>(saved - h);
    p[i] = plus;
    const double lp = objective();
    p[i] = minus;
    const double lm = objective();
    p[i] = saved;
    const double numeric = (lp - lm) / (static_cast<double>(plus) - minus);
    const double a = analytic.f32()[i];
    const double err = std::fabs(a - numeric) / std::max({std::fabs(a), std::fabs(numeric), 1.0});
    if (err > c.max_err || std::isnan(err)) {
      c.max_err = std::isnan(err) ? INFINITY : err;
      c.worst = i;
      c.analytic = a;
      c.numeric = numeric;
    }
    ++c.checked;
  }
  return c;
}

::testing::AssertionResult passes(const GradCheck& c) {
  if (c.checked > 0 && c.max_err <= kGradTol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << c;
}

Tensor dev(const Tensor& t) {
  return t.to(Device::CUDA);
}

Tensor dev_poisoned(const Shape& s, DType t) {
  return poisoned(s, Device::CUDA, t);
}

::testing::AssertionResult matches(const Tensor& on_device, const Tensor& on_cpu, double tol) {
  if (on_device.device() != Device::CUDA)
    return ::testing::AssertionFailure()
           << "output " << on_device.desc() << " is not on the device";
  return on_cpu.dtype() == DType::I32 ? same_ints(on_device, on_cpu) : near(on_device, on_cpu, tol);
}

Tensor f32(const Shape& s) {
  return Tensor::zeros(s);
}

Tensor i32(const Shape& s) {
  return Tensor::zeros(s, Device::CPU, DType::I32);
}

}  // namespace tu
