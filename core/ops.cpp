// Public ops: validate shapes, dtypes and devices (one clear zf::Error naming the op and the
// shapes), shape the outputs, then dispatch to the backend of the inputs' device. One section per
// op family, in the order of core/op_signatures.inc.
#include "core/ops.h"

#include <cstdlib>
#include <cstring>

#include "core/cpu/cpu_ops.h"
#ifdef ZF_HAVE_CUDA
#include "cuda/cuda_ops.h"
#endif

namespace zf {

#ifdef ZF_HAVE_CUDA
#define ZF_DISPATCH(dev, fn, ...) ((dev).is_cuda() ? cuda::fn(__VA_ARGS__) : cpu::fn(__VA_ARGS__))
#else
#define ZF_DISPATCH(dev, fn, ...)          \
  (!(dev).is_cuda() ? cpu::fn(__VA_ARGS__) \
                    : throw Error(#fn ": CUDA tensors, but this build has no CUDA backend"))
#endif

// Shape of a tensor as a C string that lives until the end of the enclosing full expression.
#define SHP(t) (t).shape().str().c_str()

namespace {

// Every input is non-empty, f32 (unless listed as i32) and on the same device as the first one.
void check_inputs(const char* op, std::initializer_list<const Tensor*> f32s,
                  std::initializer_list<const Tensor*> i32s = {}) {
  const Tensor* first = *f32s.begin();
  for (const Tensor* t : f32s) {
    ZF_CHECK(!t->empty(), "%s: empty input tensor %s", op, t->shape().str().c_str());
    ZF_CHECK(t->dtype() == DType::F32, "%s: input %s must be f32", op, t->desc().c_str());
    ZF_CHECK(t->device() == first->device(), "%s: inputs on different devices (%s, %s)", op,
             first->desc().c_str(), t->desc().c_str());
  }
  for (const Tensor* t : i32s) {
    ZF_CHECK(t->dtype() == DType::I32, "%s: index tensor %s must be i32", op, t->desc().c_str());
    ZF_CHECK(t->device() == first->device(), "%s: inputs on different devices (%s, %s)", op,
             first->desc().c_str(), t->desc().c_str());
  }
}

void check_same_shape(const char* op, const Tensor& a, const char* an, const Tensor& b,
                      const char* bn) {
  ZF_CHECK(a.shape() == b.shape(), "%s: %s %s and %s %s differ in shape", op, an,
           a.shape().str().c_str(), bn, b.shape().str().c_str());
}

void check_weights(const char* op, const Tensor& x, const Tensor& w, const ConvParams& p) {
  ZF_CHECK(w.ndim() == 4, "%s: weight %s is not [out, in, k, k]", op, SHP(w));
  ZF_CHECK(w.dim(2) == p.kernel && w.dim(3) == p.kernel, "%s: weight %s does not match kernel %d",
           op, SHP(w), p.kernel);
  ZF_CHECK(x.ndim() == 4, "%s: input %s is not 4-d NCHW", op, SHP(x));
  ZF_CHECK(x.dim(1) == w.dim(1), "%s: input %s has %lld channels, weight %s expects %lld", op,
           SHP(x), static_cast<long long>(x.dim(1)), SHP(w), static_cast<long long>(w.dim(1)));
}

int64_t flat_features(const Tensor& x) {
  return x.ndim() >= 1 && x.dim(0) > 0 ? x.numel() / x.dim(0) : 0;
}

}  // namespace

ReluRule parse_relu_rule(const char* r) {
  if (!std::strcmp(r, "deconv")) return ReluRule::Deconv;
  if (!std::strcmp(r, "guided")) return ReluRule::Guided;
  if (!std::strcmp(r, "backprop")) return ReluRule::Backprop;
  ZF_THROW("unknown rule '%s' (expected deconv, guided or backprop)", r);
}

const char* relu_rule_name(ReluRule r) {
  switch (r) {
    case ReluRule::Deconv:
      return "deconv";
    case ReluRule::Guided:
      return "guided";
    case ReluRule::Backprop:
      return "backprop";
  }
  return "?";
}

ConvMath parse_conv_math(const char* s) {
  if (!std::strcmp(s, "fp32")) return ConvMath::Fp32;
  if (!std::strcmp(s, "tf32")) return ConvMath::Tf32;
  ZF_THROW("unknown conv math '%s' (expected fp32 or tf32)", s);
}

const char* conv_math_name(ConvMath m) {
  return m == ConvMath::Tf32 ? "tf32" : "fp32";
}

ConvMath conv_math_from_env() {
  const char* v = std::getenv("ZF_CONV_MATH");
  if (!v || !*v) return ConvMath::Fp32;
  ZF_CHECK(!std::strcmp(v, "fp32") || !std::strcmp(v, "tf32"),
           "ZF_CONV_MATH=%s: expected fp32 or tf32", v);
  return parse_conv_math(v);
}

// ---- conv ---------------------------------------------------------------------------------------

void conv_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ConvParams& p) {
  const char* op = "conv_forward";
  check_inputs(op, {&x, &w, &b});
  check_weights(op, x, w, p);
  ZF_CHECK(b.numel() == w.dim(0), "%s: bias %s does not match %lld filters", op, SHP(b),
           static_cast<long long>(w.dim(0)));
  y.ensure(conv_output_shape(x.shape(), static_cast<int>(w.dim(0)), p, op), x.device());
  ZF_DISPATCH(x.device(), conv_forward, y, x, w, b, p);
}

void conv_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const char* op = "conv_backward_data";
  check_inputs(op, {&dy, &w});
  ZF_CHECK(dx.ndim() == 4 && dx.dtype() == DType::F32 && dx.device() == dy.device(),
           "%s: dx %s must be shaped as the forward input, f32, on %s", op, dx.desc().c_str(),
           device_name(dy.device()));
  check_weights(op, dx, w, p);
  Shape expect = conv_output_shape(dx.shape(), static_cast<int>(w.dim(0)), p, op);
  ZF_CHECK(dy.shape() == expect, "%s: dy %s, but input %s and weight %s give %s", op, SHP(dy),
           SHP(dx), SHP(w), expect.str().c_str());
  ZF_DISPATCH(dy.device(), conv_backward_data, dx, dy, w, p);
}

void conv_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                          const ConvParams& p) {
  const char* op = "conv_backward_weight";
  check_inputs(op, {&dy, &x});
  ZF_CHECK(dy.ndim() == 4 && x.ndim() == 4, "%s: dy %s and x %s must be 4-d", op, SHP(dy), SHP(x));
  Shape expect = conv_output_shape(x.shape(), static_cast<int>(dy.dim(1)), p, op);
  ZF_CHECK(dy.shape() == expect, "%s: dy %s, but input %s gives %s", op, SHP(dy), SHP(x),
           expect.str().c_str());
  dw.ensure(Shape{dy.dim(1), x.dim(1), p.kernel, p.kernel}, x.device());
  db.ensure(Shape{dy.dim(1)}, x.device());
  ZF_DISPATCH(x.device(), conv_backward_weight, dw, db, dy, x, p);
}

size_t conv_scratch_bytes(Device d, const Shape& x, const Shape& y, const ConvParams& p) {
#ifdef ZF_HAVE_CUDA
  if (d.is_cuda()) return cuda::conv_scratch_bytes(x, y, p);
#endif
  return 0;
}

// ---- relu ---------------------------------------------------------------------------------------

void relu_forward(Tensor& y, const Tensor& x) {
  check_inputs("relu_forward", {&x});
  y.ensure(x.shape(), x.device());
  ZF_DISPATCH(x.device(), relu_forward, y, x);
}

void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& x) {
  check_inputs("relu_backward", {&dy, &x});
  check_same_shape("relu_backward", dy, "dy", x, "x");
  dx.ensure(x.shape(), x.device());
  ZF_DISPATCH(x.device(), relu_backward, dx, dy, x);
}

void relu_project(Tensor& out, const Tensor& r, const Tensor& x, ReluRule rule) {
  check_inputs("relu_project", {&r, &x});
  check_same_shape("relu_project", r, "signal", x, "forward input");
  out.ensure(r.shape(), r.device());
  ZF_DISPATCH(r.device(), relu_project, out, r, x, rule);
}

// ---- maxpool ------------------------------------------------------------------------------------

void maxpool_forward(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p) {
  check_inputs("maxpool_forward", {&x});
  Shape out = pool_output_shape(x.shape(), p, "maxpool_forward");
  ZF_CHECK(x.dim(2) * x.dim(3) <= INT32_MAX,
           "maxpool_forward: plane %s too large for int32 switches", SHP(x));
  y.ensure(out, x.device());
  switches.ensure(out, x.device(), DType::I32);
  ZF_DISPATCH(x.device(), maxpool_forward, y, switches, x, p);
}

static void check_unpool(const char* op, const Tensor& dx, const Tensor& dy, const Tensor& sw,
                         const PoolParams& p) {
  check_inputs(op, {&dy}, {&sw});
  ZF_CHECK(dx.ndim() == 4 && dx.dtype() == DType::F32 && dx.device() == dy.device(),
           "%s: output %s must be shaped as the pool's input, f32, on %s", op, dx.desc().c_str(),
           device_name(dy.device()));
  Shape expect = pool_output_shape(dx.shape(), p, op);
  ZF_CHECK(dy.shape() == expect, "%s: pooled %s, but input %s gives %s", op, SHP(dy), SHP(dx),
           expect.str().c_str());
  ZF_CHECK(sw.shape() == dy.shape(), "%s: switches %s do not match %s", op, SHP(sw), SHP(dy));
}

void maxpool_backward(Tensor& dx, const Tensor& dy, const Tensor& switches, const PoolParams& p) {
  check_unpool("maxpool_backward", dx, dy, switches, p);
  ZF_DISPATCH(dy.device(), maxpool_backward, dx, dy, switches, p);
}

void unpool_forward(Tensor& y, const Tensor& x, const Tensor& switches, const PoolParams& p) {
  check_unpool("unpool_forward", y, x, switches, p);
  ZF_DISPATCH(x.device(), unpool_forward, y, x, switches, p);
}

// ---- lrn ----------------------------------------------------------------------------------------

void lrn_forward(Tensor& y, Tensor& scale, const Tensor& x, const LrnParams& p) {
  check_inputs("lrn_forward", {&x});
  check_lrn_params(p, "lrn_forward");
  ZF_CHECK(x.ndim() == 4, "lrn_forward: input %s is not 4-d NCHW", SHP(x));
  y.ensure(x.shape(), x.device());
  scale.ensure(x.shape(), x.device());
  ZF_DISPATCH(x.device(), lrn_forward, y, scale, x, p);
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                  const Tensor& scale, const LrnParams& p) {
  const char* op = "lrn_backward";
  check_inputs(op, {&dy, &x, &y, &scale});
  check_lrn_params(p, op);
  ZF_CHECK(x.ndim() == 4, "%s: input %s is not 4-d NCHW", op, SHP(x));
  check_same_shape(op, dy, "dy", x, "x");
  check_same_shape(op, y, "y", x, "x");
  check_same_shape(op, scale, "scale", x, "x");
  dx.ensure(x.shape(), x.device());
  ZF_DISPATCH(x.device(), lrn_backward, dx, dy, x, y, scale, p);
}

// ---- fc -----------------------------------------------------------------------------------------

static void check_fc(const char* op, const Tensor& x, const Tensor& w) {
  ZF_CHECK(w.ndim() == 2, "%s: weight %s is not [out, in]", op, SHP(w));
  ZF_CHECK(flat_features(x) == w.dim(1), "%s: input %s has %lld features, weight %s expects %lld",
           op, SHP(x), static_cast<long long>(flat_features(x)), SHP(w),
           static_cast<long long>(w.dim(1)));
}

void fc_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  check_inputs("fc_forward", {&x, &w, &b});
  check_fc("fc_forward", x, w);
  ZF_CHECK(b.numel() == w.dim(0), "fc_forward: bias %s does not match weight %s", SHP(b), SHP(w));
  y.ensure(Shape{x.dim(0), w.dim(0)}, x.device());
  ZF_DISPATCH(x.device(), fc_forward, y, x, w, b);
}

void fc_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  check_inputs("fc_backward_data", {&dy, &w});
  ZF_CHECK(w.ndim() == 2 && dy.ndim() == 2 && dy.dim(1) == w.dim(0),
           "fc_backward_data: dy %s does not match weight %s", SHP(dy), SHP(w));
  bool shaped = dx.ndim() >= 2 && dx.dim(0) == dy.dim(0) && flat_features(dx) == w.dim(1);
  dx.ensure(shaped ? dx.shape() : Shape{dy.dim(0), w.dim(1)}, dy.device());
  ZF_DISPATCH(dy.device(), fc_backward_data, dx, dy, w);
}

void fc_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x) {
  check_inputs("fc_backward_weight", {&dy, &x});
  ZF_CHECK(dy.ndim() == 2 && dy.dim(0) == x.dim(0), "fc_backward_weight: dy %s does not match x %s",
           SHP(dy), SHP(x));
  dw.ensure(Shape{dy.dim(1), flat_features(x)}, x.device());
  db.ensure(Shape{dy.dim(1)}, x.device());
  ZF_DISPATCH(x.device(), fc_backward_weight, dw, db, dy, x);
}

// ---- dropout ------------------------------------------------------------------------------------

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  check_inputs("dropout_forward", {&x});
  ZF_CHECK(p >= 0.f && p < 1.f, "dropout_forward: p = %g must be in [0, 1)",
           static_cast<double>(p));
  y.ensure(x.shape(), x.device());
  mask.ensure(x.shape(), x.device());
  ZF_DISPATCH(x.device(), dropout_forward, y, mask, x, p, seed, stream, first);
}

void dropout_backward(Tensor& dx, const Tensor& dy, const Tensor& mask) {
  check_inputs("dropout_backward", {&dy, &mask});
  check_same_shape("dropout_backward", dy, "dy", mask, "mask");
  dx.ensure(dy.shape(), dy.device());
  ZF_DISPATCH(dy.device(), dropout_backward, dx, dy, mask);
}

// ---- softmax_loss -------------------------------------------------------------------------------

static void check_softmax_loss(const char* op, const Tensor& logits, const Tensor& labels) {
  ZF_CHECK(logits.ndim() == 2, "%s: logits %s are not [N, K]", op, SHP(logits));
  ZF_CHECK(labels.ndim() == 1 && labels.dim(0) == logits.dim(0),
           "%s: labels %s do not match logits %s", op, SHP(labels), SHP(logits));
}

void softmax_forward(Tensor& prob, const Tensor& logits) {
  check_inputs("softmax_forward", {&logits});
  ZF_CHECK(logits.ndim() == 2, "softmax_forward: logits %s are not [N, K]", SHP(logits));
  prob.ensure(logits.shape(), logits.device());
  ZF_DISPATCH(logits.device(), softmax_forward, prob, logits);
}

void softmax_loss_forward(Tensor& prob, Tensor& stats, const Tensor& logits, const Tensor& labels) {
  check_inputs("softmax_loss_forward", {&logits}, {&labels});
  check_softmax_loss("softmax_loss_forward", logits, labels);
  prob.ensure(logits.shape(), logits.device());
  stats.ensure(Shape{2}, logits.device());
  ZF_DISPATCH(logits.device(), softmax_loss_forward, prob, stats, logits, labels);
}

void softmax_loss_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  check_inputs("softmax_loss_backward", {&prob}, {&labels});
  check_softmax_loss("softmax_loss_backward", prob, labels);
  dlogits.ensure(prob.shape(), prob.device());
  ZF_DISPATCH(prob.device(), softmax_loss_backward, dlogits, prob, labels);
}

size_t softmax_loss_scratch_bytes(Device d, const Shape& logits) {
#ifdef ZF_HAVE_CUDA
  if (d.is_cuda()) return cuda::softmax_loss_scratch_bytes(logits);
#endif
  return 0;
}

// ---- optim --------------------------------------------------------------------------------------

void sgd_update(Tensor& w, Tensor& v, const Tensor& dw, float lr, float momentum,
                float weight_decay) {
  check_inputs("sgd_update", {&w, &v, &dw});
  check_same_shape("sgd_update", w, "weight", v, "momentum");
  check_same_shape("sgd_update", w, "weight", dw, "gradient");
  ZF_DISPATCH(w.device(), sgd_update, w, v, dw, lr, momentum, weight_decay);
}

void renorm_filters(Tensor& w, float radius) {
  check_inputs("renorm_filters", {&w});
  ZF_CHECK(radius > 0.f, "renorm_filters: radius %g must be > 0", static_cast<double>(radius));
  ZF_DISPATCH(w.device(), renorm_filters, w, radius);
}

void add_inplace(Tensor& y, const Tensor& x) {
  check_inputs("add_inplace", {&y, &x});
  check_same_shape("add_inplace", y, "y", x, "x");
  ZF_DISPATCH(y.device(), add_inplace, y, x);
}

void count_nonfinite(Tensor& count, const Tensor& x) {
  check_inputs("count_nonfinite", {&x, &count});
  ZF_CHECK(count.numel() == 1, "count_nonfinite: count %s must hold one value", SHP(count));
  ZF_DISPATCH(x.device(), count_nonfinite, count, x);
}

}  // namespace zf
