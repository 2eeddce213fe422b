// Naive float64 reference loops (see naive.h). Each function is the definition from DESIGN.md
// section 2 written as the most direct loop; only the RNG (core/rng.h) is shared with the library,
// because the dropout mask is defined as a function of it.
#include "naive.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace naive {

using zf::Shape;

DT::DT(const Shape& s) : shape(s), v(static_cast<size_t>(s.numel()), 0.0) {}

static int64_t offset(const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return ((n * s[1] + c) * s[2] + h) * s[3] + w;
}
double& DT::at(int64_t n, int64_t c, int64_t h, int64_t w) {
  return v[offset(shape, n, c, h, w)];
}
double DT::at(int64_t n, int64_t c, int64_t h, int64_t w) const {
  return v[offset(shape, n, c, h, w)];
}

DT of(const zf::Tensor& t) {
  DT d(t.shape());
  const float* p = t.f32();
  for (int64_t i = 0; i < d.numel(); ++i) d.v[i] = p[i];
  return d;
}

std::vector<int32_t> ints(const zf::Tensor& t) {
  const int32_t* p = t.i32();
  return std::vector<int32_t>(p, p + t.numel());
}

// Number of window positions j*stride (j = 0, 1, ...) at which a kernel fits in the padded input.
int conv_out(int in, int kernel, int stride, int pad) {
  int count = 0;
  while (count * stride + kernel <= in + 2 * pad) ++count;
  return count;
}

// Ceil mode: window starts j*stride are kept while the window's unclipped end j*stride + kernel
// stays less than one stride past the input (ceil((in - k)/s) + 1 of them), and (Caffe) the start
// itself must lie inside the input.
int pool_out(int in, int kernel, int stride, bool ceil) {
  int count = 0;
  if (!ceil) {  // floor mode: windows that end inside the input
    while (count * stride + kernel <= in) ++count;
    return count;
  }
  while (count * stride < in - kernel + stride && count * stride < in) ++count;
  return count;
}

static int64_t features(const Shape& s) {
  return s.numel() / s[0];
}

// ---- convolution
// ---------------------------------------------------------------------------------------

DT conv_forward(const DT& x, const DT& w, const DT& b, int stride, int pad) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], K = w.shape[2];
  const int64_t OH = conv_out(static_cast<int>(H), static_cast<int>(K), stride, pad);
  const int64_t OW = conv_out(static_cast<int>(W), static_cast<int>(K), stride, pad);
  DT y(Shape{N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double acc = b.v[o];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;  // zero padding
                acc += x.at(n, c, iy, ix) * w.at(o, c, ky, kx);
              }
          y.at(n, o, oy, ox) = acc;
        }
  return y;
}

DT conv_backward_data(const DT& dy, const DT& w, const Shape& x_shape, int stride, int pad) {
  DT dx(x_shape);
  const int64_t C = x_shape[1], H = x_shape[2], W = x_shape[3], K = w.shape[2];
  for (int64_t n = 0; n < dy.shape[0]; ++n)
    for (int64_t o = 0; o < dy.shape[1]; ++o)
      for (int64_t oy = 0; oy < dy.shape[2]; ++oy)
        for (int64_t ox = 0; ox < dy.shape[3]; ++ox) {
          const double g = dy.at(n, o, oy, ox);
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                dx.at(n, c, iy, ix) += g * w.at(o, c, ky, kx);
              }
        }
  return dx;
}

void conv_backward_weight(DT& dw, DT& db, const DT& dy, const DT& x, int kernel, int stride,
                          int pad) {
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3], O = dy.shape[1];
  dw = DT(Shape{O, C, kernel, kernel});
  db = DT(Shape{O});
  for (int64_t n = 0; n < dy.shape[0]; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oy = 0; oy < dy.shape[2]; ++oy)
        for (int64_t ox = 0; ox < dy.shape[3]; ++ox) {
          const double g = dy.at(n, o, oy, ox);
          db.v[o] += g;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < kernel; ++ky)
              for (int64_t kx = 0; kx < kernel; ++kx) {
                int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                dw.at(o, c, ky, kx) += g * x.at(n, c, iy, ix);
              }
        }
}

// ---- rectification
// ---------------------------------------------------------------------------------------

DT relu_forward(const DT& x) {
  DT y(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) y.v[i] = x.v[i] > 0 ? x.v[i] : 0.0;
  return y;
}

DT relu_backward(const DT& dy, const DT& x) {
  DT dx(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) dx.v[i] = x.v[i] > 0 ? dy.v[i] : 0.0;
  return dx;
}

DT relu_project(const DT& r, const DT& x, zf::ReluRule rule) {
  DT out(r.shape);
  for (int64_t i = 0; i < r.numel(); ++i) {
    const bool rectify = rule != zf::ReluRule::Backprop;  // deconv and guided rectify the signal
    const bool gate = rule != zf::ReluRule::Deconv;  // guided and backprop use the forward mask
    double s = r.v[i];
    if (rectify && s < 0) s = 0;
    if (gate && !(x.v[i] > 0)) s = 0;
    out.v[i] = s;
  }
  return out;
}

// ---- max-pooling
// ----------------------------------------------------------------------------------------

void maxpool_forward(DT& y, std::vector<int32_t>& switches, const DT& x, int kernel, int stride,
                     bool ceil) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = pool_out(static_cast<int>(H), kernel, stride, ceil);
  const int64_t OW = pool_out(static_cast<int>(W), kernel, stride, ceil);
  y = DT(Shape{N, C, OH, OW});
  switches.assign(static_cast<size_t>(y.numel()), -1);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          // The window, clipped at the bottom and right borders; scanned in row-major order and a
          // later element replaces the best only when strictly greater, so the first maximum wins.
          const int64_t y0 = oy * stride, x0 = ox * stride;
          const int64_t y1 = std::min<int64_t>(y0 + kernel, H),
                        x1 = std::min<int64_t>(x0 + kernel, W);
          double best = x.at(n, c, y0, x0);
          int64_t arg = y0 * W + x0;
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix)
              if (x.at(n, c, iy, ix) > best) {
                best = x.at(n, c, iy, ix);
                arg = iy * W + ix;
              }
          y.at(n, c, oy, ox) = best;
          switches[offset(y.shape, n, c, oy, ox)] = static_cast<int32_t>(arg);
        }
}

DT maxpool_backward(const DT& dy, const std::vector<int32_t>& switches, const Shape& x_shape) {
  DT dx(x_shape);
  const int64_t plane_in = x_shape[2] * x_shape[3], plane_out = dy.shape[2] * dy.shape[3];
  for (int64_t i = 0; i < dy.numel(); ++i) {
    const int64_t nc = i / plane_out;  // (n, c) plane of output i
    dx.v[nc * plane_in + switches[i]] += dy.v[i];
  }
  return dx;
}

// ---- LRN
// ----------------------------------------------------------------------------------------------------

// True when channel `other` lies in the window of `size` channels centred on `c` (clipping is
// implicit: only existing channels are ever asked about).
static bool in_window(int64_t other, int64_t c, int size) {
  return std::llabs(other - c) <= size / 2;
}

static DT lrn_scale(const DT& x, int size, double alpha, double k) {
  DT scale(x.shape);
  const int64_t C = x.shape[1];
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < x.shape[2]; ++h)
        for (int64_t w = 0; w < x.shape[3]; ++w) {
          double sum = 0;
          for (int64_t c2 = 0; c2 < C; ++c2)
            if (in_window(c2, c, size)) sum += x.at(n, c2, h, w) * x.at(n, c2, h, w);
          scale.at(n, c, h, w) = k + alpha / size * sum;
        }
  return scale;
}

void lrn_forward(DT& y, DT& scale, const DT& x, int size, double alpha, double beta, double k) {
  scale = lrn_scale(x, size, alpha, k);
  y = DT(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) y.v[i] = x.v[i] / std::pow(scale.v[i], beta);
}

// y_c = a_c * s_c^-beta with s_c = k + alpha/size * sum_{c' in window(c)} a_c'^2, so
// dy_c/da_j = [c == j] s_c^-beta - beta a_c s_c^(-beta-1) (alpha/size) 2 a_j [j in window(c)].
DT lrn_backward(const DT& dy, const DT& x, int size, double alpha, double beta, double k) {
  const DT s = lrn_scale(x, size, alpha, k);
  DT dx(x.shape);
  const int64_t C = x.shape[1];
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t h = 0; h < x.shape[2]; ++h)
      for (int64_t w = 0; w < x.shape[3]; ++w)
        for (int64_t j = 0; j < C; ++j) {
          double g = dy.at(n, j, h, w) * std::pow(s.at(n, j, h, w), -beta);
          for (int64_t c = 0; c < C; ++c) {
            if (!in_window(j, c, size)) continue;
            g -= dy.at(n, c, h, w) * beta * x.at(n, c, h, w) *
                 std::pow(s.at(n, c, h, w), -beta - 1) * (alpha / size) * 2 * x.at(n, j, h, w);
          }
          dx.at(n, j, h, w) = g;
        }
  return dx;
}

// ---- fully connected
// --------------------------------------------------------------------------------------

DT fc_forward(const DT& x, const DT& w, const DT& b) {
  const int64_t N = x.shape[0], F = features(x.shape), O = w.shape[0];
  DT y(Shape{N, O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double acc = b.v[o];
      for (int64_t f = 0; f < F; ++f) acc += x.v[n * F + f] * w.v[o * F + f];
      y.v[n * O + o] = acc;
    }
  return y;
}

DT fc_backward_data(const DT& dy, const DT& w, const Shape& x_shape) {
  DT dx(x_shape);
  const int64_t N = dy.shape[0], O = dy.shape[1], F = w.shape[1];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) {
      double acc = 0;
      for (int64_t o = 0; o < O; ++o) acc += dy.v[n * O + o] * w.v[o * F + f];
      dx.v[n * F + f] = acc;
    }
  return dx;
}

void fc_backward_weight(DT& dw, DT& db, const DT& dy, const DT& x) {
  const int64_t N = dy.shape[0], O = dy.shape[1], F = features(x.shape);
  dw = DT(Shape{O, F});
  db = DT(Shape{O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      db.v[o] += dy.v[n * O + o];
      for (int64_t f = 0; f < F; ++f) dw.v[o * F + f] += dy.v[n * O + o] * x.v[n * F + f];
    }
}

// ---- dropout
// ------------------------------------------------------------------------------------------------

void dropout_forward(DT& y, DT& mask, const DT& x, float p, uint64_t seed, uint64_t stream) {
  y = DT(x.shape);
  mask = DT(x.shape);
  const double keep_scale = 1.0 / (1.0 - static_cast<double>(p));
  for (int64_t i = 0; i < x.numel(); ++i) {
    mask.v[i] = zf::rng_uniform(seed, stream, static_cast<uint64_t>(i)) >= p ? keep_scale : 0.0;
    y.v[i] = x.v[i] * mask.v[i];
  }
}

DT dropout_backward(const DT& dy, const DT& mask) {
  DT dx(dy.shape);
  for (int64_t i = 0; i < dy.numel(); ++i) dx.v[i] = dy.v[i] * mask.v[i];
  return dx;
}

// ---- softmax cross-entropy
// -----------------------------------------------------------------------------------

double softmax_loss_forward(DT& prob, const DT& logits, const std::vector<int32_t>& labels) {
  const int64_t N = logits.shape[0], K = logits.shape[1];
  prob = DT(logits.shape);
  double loss = 0;
  for (int64_t n = 0; n < N; ++n) {
    const double* z = &logits.v[n * K];
    const double m = *std::max_element(z, z + K);
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(z[k] - m);
    for (int64_t k = 0; k < K; ++k) prob.v[n * K + k] = std::exp(z[k] - m) / sum;
    loss += std::log(sum) + m - z[labels[n]];  // -log softmax(z)[label]
  }
  return loss / N;
}

DT softmax_loss_backward(const DT& prob, const std::vector<int32_t>& labels) {
  const int64_t N = prob.shape[0], K = prob.shape[1];
  DT d(prob.shape);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      d.v[n * K + k] = (prob.v[n * K + k] - (k == labels[n] ? 1 : 0)) / N;
  return d;
}

// ---- optimization and misc
// ----------------------------------------------------------------------------------

void sgd_update(DT& w, DT& v, const DT& dw, double lr, double momentum, double weight_decay) {
  for (int64_t i = 0; i < w.numel(); ++i) {
    v.v[i] = momentum * v.v[i] - lr * (dw.v[i] + weight_decay * w.v[i]);
    w.v[i] += v.v[i];
  }
}

void renorm_filters(DT& w, double radius) {
  const int64_t O = w.shape[0], per = w.numel() / O;
  for (int64_t o = 0; o < O; ++o) {
    double ss = 0;
    for (int64_t i = 0; i < per; ++i) ss += w.v[o * per + i] * w.v[o * per + i];
    const double rms = std::sqrt(ss / per);
    if (rms > radius)
      for (int64_t i = 0; i < per; ++i) w.v[o * per + i] *= radius / rms;
  }
}

void add_inplace(DT& y, const DT& x) {
  for (int64_t i = 0; i < y.numel(); ++i) y.v[i] += x.v[i];
}

}  // namespace naive
