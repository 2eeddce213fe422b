// CPU softmax and softmax cross-entropy (the softmax_loss family): max-subtracted softmax, loss =
// mean over the batch of -log p[label], and the count of samples whose label is a top-1 prediction.
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

// pr = softmax(z) over K classes; returns the sum of exp(z - max) (in double) and sets *max.
// One function for both ops, so that their probabilities are the same bits.
inline double softmax_row(float* pr, const float* z, int64_t K, float* max) {
  float mx = z[0];
  for (int64_t k = 1; k < K; ++k) mx = z[k] > mx ? z[k] : mx;
  double sum = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    pr[k] = std::exp(z[k] - mx);
    sum += pr[k];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t k = 0; k < K; ++k) pr[k] *= inv;
  *max = mx;
  return sum;
}
}  // namespace

void softmax_forward(Tensor& prob, const Tensor& logits) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const float* Z = logits.f32();
  float* P = prob.f32();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    float mx;
    softmax_row(P + n * K, Z + n * K, K, &mx);
  }
}

void softmax_loss_forward(Tensor& prob, Tensor& stats, const Tensor& logits, const Tensor& labels) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const float* Z = logits.f32();
  const int32_t* L = labels.i32();
  float* P = prob.f32();
  check_labels(L, N, K, "softmax_loss_forward");
  double loss = 0.0;
#pragma omp parallel for reduction(+ : loss) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* z = Z + n * K;
    float mx;
    const double sum = softmax_row(P + n * K, z, K, &mx);
    loss += -(static_cast<double>(z[L[n]] - mx) - std::log(sum));
  }
  // Top-1 hits from the probabilities just written: no class strictly more probable than the
  // label (ties count for the label), as the trainer's accuracy has always counted them.
  int64_t hits = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* p = P + n * K;
    const float target = p[L[n]];
    bool hit = true;
    for (int64_t k = 0; k < K && hit; ++k) hit = !(p[k] > target);
    hits += hit;
  }
  stats.f32()[0] = static_cast<float>(loss / static_cast<double>(N));
  stats.f32()[1] = static_cast<float>(hits);
}

void softmax_loss_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  const int64_t N = prob.dim(0), K = prob.dim(1);
  const float* P = prob.f32();
  const int32_t* L = labels.i32();
  float* D = dlogits.f32();
  check_labels(L, N, K, "softmax_loss_backward");
  const float inv_n = 1.f / static_cast<float>(N);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) D[n * K + k] = P[n * K + k] * inv_n;
    D[n * K + L[n]] -= inv_n;
  }
}

}  // namespace zf::cpu
