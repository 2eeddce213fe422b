// Output-shape functions and parameter validation for conv, pool and LRN.
#include "core/shapes.h"

namespace zf {

int conv_out_size(int in, const ConvParams& p, const char* op) {
  ZF_CHECK(p.kernel >= 1, "%s: kernel %d must be >= 1", op, p.kernel);
  ZF_CHECK(p.stride >= 1, "%s: stride %d must be >= 1", op, p.stride);
  ZF_CHECK(p.pad >= 0, "%s: pad %d must be >= 0", op, p.pad);
  ZF_CHECK(in >= 1, "%s: input size %d must be >= 1", op, in);
  ZF_CHECK(in + 2 * p.pad >= p.kernel, "%s: kernel %d larger than the padded input %d (%d + 2*%d)",
           op, p.kernel, in + 2 * p.pad, in, p.pad);
  return (in + 2 * p.pad - p.kernel) / p.stride + 1;
}

int pool_out_size(int in, const PoolParams& p, const char* op) {
  ZF_CHECK(p.kernel >= 1, "%s: kernel %d must be >= 1", op, p.kernel);
  ZF_CHECK(p.stride >= 1, "%s: stride %d must be >= 1", op, p.stride);
  ZF_CHECK(in >= p.kernel, "%s: kernel %d larger than the input %d", op, p.kernel, in);
  if (!p.ceil) return (in - p.kernel) / p.stride + 1;  // floor mode: whole windows only
  int out = (in - p.kernel + p.stride - 1) / p.stride + 1;  // ceil mode
  if ((out - 1) * p.stride >= in) --out;  // the last window must start inside the input
  return out;
}

static void check_nchw(const Shape& x, const char* op) {
  ZF_CHECK(x.ndim == 4, "%s: input %s is not 4-d NCHW", op, x.str().c_str());
  ZF_CHECK(x.numel() > 0, "%s: input %s is empty", op, x.str().c_str());
}

// Parameter errors name the input shape too, so that a bad layer in a deep net is easy to place.
template <class F>
Shape with_input_shape(const Shape& x, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (input " + x.str() + ")");
  }
}

Shape conv_output_shape(const Shape& x, int out_channels, const ConvParams& p, const char* op) {
  check_nchw(x, op);
  ZF_CHECK(out_channels >= 1, "%s: %d output channels", op, out_channels);
  return with_input_shape(x, [&] {
    return Shape{x[0], out_channels, conv_out_size(static_cast<int>(x[2]), p, op),
                 conv_out_size(static_cast<int>(x[3]), p, op)};
  });
}

Shape pool_output_shape(const Shape& x, const PoolParams& p, const char* op) {
  check_nchw(x, op);
  return with_input_shape(x, [&] {
    return Shape{x[0], x[1], pool_out_size(static_cast<int>(x[2]), p, op),
                 pool_out_size(static_cast<int>(x[3]), p, op)};
  });
}

void check_lrn_params(const LrnParams& p, const char* op) {
  ZF_CHECK(p.size >= 1 && p.size % 2 == 1, "%s: size %d must be odd and >= 1", op, p.size);
  ZF_CHECK(p.k > 0.f, "%s: k %g must be > 0", op, static_cast<double>(p.k));
  ZF_CHECK(p.alpha >= 0.f, "%s: alpha %g must be >= 0", op, static_cast<double>(p.alpha));
  ZF_CHECK(p.beta >= 0.f, "%s: beta %g must be >= 0", op, static_cast<double>(p.beta));
}

}  // namespace zf
