// CPU softmax cross-entropy: max-subtracted softmax, loss = mean over the batch of -log p[label].
#include <cmath>
#include <cstdint>

#include "core/cpu/cpu_ops.h"

namespace zf::cpu {

namespace {
void check_labels(const int32_t* L, int64_t N, int64_t K, const char* op) {
  for (int64_t n = 0; n < N; ++n)
    ZF_CHECK(L[n] >= 0 && L[n] < K, "%s: label %d of sample %lld outside [0, %lld)", op, L[n],
             static_cast<long long>(n), static_cast<long long>(K));
}
}  // namespace

float softmax_xent_forward(Tensor& prob, const Tensor& logits, const Tensor& labels) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const float* Z = logits.f32();
  const int32_t* L = labels.i32();
  float* P = prob.f32();
  check_labels(L, N, K, "softmax_xent_forward");
  double loss = 0.0;
#pragma omp parallel for reduction(+ : loss) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* z = Z + n * K;
    float* pr = P + n * K;
    float mx = z[0];
    for (int64_t k = 1; k < K; ++k) mx = z[k] > mx ? z[k] : mx;
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      pr[k] = std::exp(z[k] - mx);
      sum += pr[k];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t k = 0; k < K; ++k) pr[k] *= inv;
    loss += -(static_cast<double>(z[L[n]] - mx) - std::log(sum));
  }
  return static_cast<float>(loss / static_cast<double>(N));
}

void softmax_xent_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  const int64_t N = prob.dim(0), K = prob.dim(1);
  const float* P = prob.f32();
  const int32_t* L = labels.i32();
  float* D = dlogits.f32();
  check_labels(L, N, K, "softmax_xent_backward");
  const float inv_n = 1.f / static_cast<float>(N);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) D[n * K + k] = P[n * K + k] * inv_n;
    D[n * K + L[n]] -= inv_n;
  }
}

}  // namespace zf::cpu
