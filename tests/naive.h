// Naive float64 reference loops for every op of core/op_signatures.inc, written from the semantics
// in DESIGN.md section 2 and nothing else: no zf shape functions, no index_math.h, no im2col, no
// BLAS. They are slow on purpose (the obvious loop over every output and every term), so that a
// reader can check them against the DESIGN text line by line. The tests compare zf's float32 ops
// with them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ops.h"
#include "core/tensor.h"

namespace naive {

// A float64 array with a zf::Shape (only the dims are used), row-major like zf::Tensor.
struct DT {
  zf::Shape shape;
  std::vector<double> v;

  DT() = default;
  explicit DT(const zf::Shape& s);
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  // NCHW element (n, c, h, w) of a 4-d array.
  double& at(int64_t n, int64_t c, int64_t h, int64_t w);
  double at(int64_t n, int64_t c, int64_t h, int64_t w) const;
};

DT of(const zf::Tensor& t);                      // an f32 CPU tensor widened to float64
std::vector<int32_t> ints(const zf::Tensor& t);  // an i32 CPU tensor's values

// Output sizes, written from the DESIGN text (conv floors; pool counts ceil-mode window starts that
// lie inside the input).
int conv_out(int in, int kernel, int stride, int pad);
int pool_out(int in, int kernel, int stride, bool ceil = true);

// ---- convolution (cross-correlation, zero padding)
// ---------------------------------------------------
DT conv_forward(const DT& x, const DT& w, const DT& b, int stride, int pad);
DT conv_backward_data(const DT& dy, const DT& w, const zf::Shape& x_shape, int stride, int pad);
void conv_backward_weight(DT& dw, DT& db, const DT& dy, const DT& x, int kernel, int stride,
                          int pad);

// ---- rectification
// ------------------------------------------------------------------------------------
DT relu_forward(const DT& x);
DT relu_backward(const DT& dy, const DT& x);
DT relu_project(const DT& r, const DT& x, zf::ReluRule rule);

// ---- max-pooling
// ----------------------------------------------------------------------------------------
void maxpool_forward(DT& y, std::vector<int32_t>& switches, const DT& x, int kernel, int stride,
                     bool ceil = true);
// dx[i] = sum of dy over the outputs whose switch is i (also the deconvnet's unpooling).
DT maxpool_backward(const DT& dy, const std::vector<int32_t>& switches, const zf::Shape& x_shape);

// ---- LRN across channels
// ------------------------------------------------------------------------------
void lrn_forward(DT& y, DT& scale, const DT& x, int size, double alpha, double beta, double k);
DT lrn_backward(const DT& dy, const DT& x, int size, double alpha, double beta, double k);

// ---- fully connected (x flattened to [N, in])
// ---------------------------------------------------------
DT fc_forward(const DT& x, const DT& w, const DT& b);
DT fc_backward_data(const DT& dy, const DT& w, const zf::Shape& x_shape);
void fc_backward_weight(DT& dw, DT& db, const DT& dy, const DT& x);

// ---- dropout
// ------------------------------------------------------------------------------------------
void dropout_forward(DT& y, DT& mask, const DT& x, float p, uint64_t seed, uint64_t stream);
DT dropout_backward(const DT& dy, const DT& mask);

// ---- softmax cross-entropy, mean over the batch
// ------------------------------------------------------
double softmax_loss_forward(DT& prob, const DT& logits, const std::vector<int32_t>& labels);
DT softmax_loss_backward(const DT& prob, const std::vector<int32_t>& labels);

// ---- optimization and misc
// ----------------------------------------------------------------------------
void sgd_update(DT& w, DT& v, const DT& dw, double lr, double momentum, double weight_decay);
void renorm_filters(DT& w, double radius);
void add_inplace(DT& y, const DT& x);

}  // namespace naive
