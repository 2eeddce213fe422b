// Projections of single activations, whole or cropped to the receptive field (see projection.h).
#include "visualize/projection.h"

#include <algorithm>
#include <functional>

namespace zf {

namespace {

// `t` on `d`: itself when it is there already, else copied into `scratch`.
const Tensor& on_device(const Tensor& t, Device d, Tensor& scratch) {
  if (d == Device::CPU) return t;
  scratch.ensure(t.shape(), d);
  scratch.copy_from(t);
  return scratch;
}

// The normalized input [B, C, H, W] of the requests [lo, hi) and their view pixels.
void load_views(const Session& s, const Dataset& ds, const std::vector<ProjectRequest>& req,
                size_t lo, size_t hi, Tensor& x, std::vector<uint8_t>& pixels) {
  const Shape& in = s.net->input_chw();
  const int64_t sample = in[0] * in[1] * in[2];
  x.ensure(Shape{static_cast<int64_t>(hi - lo), in[0], in[1], in[2]}, Device::CPU);
  pixels.resize(static_cast<size_t>((hi - lo) * sample));
  for (size_t i = lo; i < hi; ++i)
    view_sample(ds, s.cfg.data.transform, s.norm, req[i].hit.image, kCenterView,
                x.f32() + (i - lo) * sample, pixels.data() + (i - lo) * sample);
}

// The deconvnet's starting signal in r (host, shaped as `acts`): each image's chosen activation,
// everything else zero.
void one_unit_signal(Tensor& r, const Tensor& acts, const FeatureLayer& layer,
                     const std::vector<ProjectRequest>& req, size_t lo, size_t hi) {
  const int64_t F = acts.dim(1);
  const MapSize m = map_size(acts.shape());
  r.ensure(acts.shape(), Device::CPU);
  r.zero();
  for (size_t i = lo; i < hi; ++i) {
    const ProjectRequest& q = req[i];
    ZF_CHECK(q.feature >= 0 && q.feature < F && q.hit.y >= 0 && q.hit.y < m.h && q.hit.x >= 0 &&
                 q.hit.x < m.w,
             "feature %d at (%d, %d) outside layer %s [%lld,%d,%d]", q.feature, q.hit.y, q.hit.x,
             layer.name.c_str(), static_cast<long long>(F), m.h, m.w);
    const int64_t o =
        ((static_cast<int64_t>(i - lo) * F + q.feature) * m.h + q.hit.y) * m.w + q.hit.x;
    r.f32()[o] = acts.f32()[o];
  }
}

// Called with (request index, projection [C,H,W] in host memory, the image's view pixels [C,H,W]).
using Sink = std::function<void(size_t, const float*, const uint8_t*)>;

// Runs the forward pass for `batch` requests at a time and projects each one's activation alone.
void project_batches(Session& s, const Dataset& ds, const FeatureLayer& layer,
                     const std::vector<ProjectRequest>& req, const ProjectOptions& opt, int batch,
                     const Sink& sink) {
  Net& net = *s.net;
  const Shape& in = net.input_chw();
  const int64_t sample = in[0] * in[1] * in[2];
  Tensor x, xdev, r, rdev, host_acts, out;
  std::vector<uint8_t> pixels;
  RunState rs;
  rs.phase = Phase::Eval;
  for (size_t lo = 0; lo < req.size(); lo += static_cast<size_t>(batch)) {
    const size_t hi = std::min(req.size(), lo + static_cast<size_t>(batch));
    load_views(s, ds, req, lo, hi, x, pixels);
    const Pass pass = net.forward_to(on_device(x, net.device(), xdev), layer.act, rs);
    const Tensor& a = pass.output(layer.act);
    host_acts.ensure(a.shape(), Device::CPU);
    host_acts.copy_from(a);
    one_unit_signal(r, host_acts, layer, req, lo, hi);
    const Tensor& p = net.project(pass, on_device(r, net.device(), rdev), layer.act, opt);
    out.ensure(p.shape(), Device::CPU);
    out.copy_from(p);
    for (size_t i = lo; i < hi; ++i) {
      const int64_t k = static_cast<int64_t>(i - lo) * sample;
      sink(i, out.f32() + k, pixels.data() + k);
    }
  }
}

// The [C, f.size, f.size] window of `full` and `pixels` [C, H, W] at the unit's field.
Projection crop_to_field(const float* full, const uint8_t* pixels, int C, int H, int W,
                         const Field& f, const Hit& hit) {
  Projection pr;
  pr.proj.assign(static_cast<size_t>(C) * f.size * f.size, 0.f);
  pr.patch.assign(pr.proj.size(), 0);
  const int y0 = f.first + hit.y * f.jump, x0 = f.first + hit.x * f.jump;
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < f.size; ++y)
      for (int x = 0; x < f.size; ++x) {
        const int iy = y0 + y, ix = x0 + x;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        const size_t src = (static_cast<size_t>(c) * H + iy) * W + ix;
        const size_t dst = (static_cast<size_t>(c) * f.size + y) * f.size + x;
        pr.proj[dst] = full[src];
        pr.patch[dst] = pixels[src];
      }
  return pr;
}

}  // namespace

std::vector<Projection> project_hits(Session& s, const Dataset& ds, const FeatureLayer& layer,
                                     const std::vector<ProjectRequest>& req,
                                     const ProjectOptions& opt, int batch) {
  const Field f = receptive_field(*s.net, layer.act);
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  std::vector<Projection> res(req.size());
  project_batches(s, ds, layer, req, opt, batch,
                  [&](size_t i, const float* full, const uint8_t* pixels) {
                    res[i] = crop_to_field(full, pixels, C, H, W, f, req[i].hit);
                  });
  return res;
}

std::vector<std::vector<float>> project_full(Session& s, const Dataset& ds,
                                             const FeatureLayer& layer,
                                             const std::vector<ProjectRequest>& req,
                                             const ProjectOptions& opt, int batch) {
  const Shape& in = s.net->input_chw();
  const size_t n = static_cast<size_t>(in[0] * in[1] * in[2]);
  std::vector<std::vector<float>> res(req.size());
  project_batches(s, ds, layer, req, opt, batch, [&](size_t i, const float* full, const uint8_t*) {
    res[i].assign(full, full + n);
  });
  return res;
}

}  // namespace zf
