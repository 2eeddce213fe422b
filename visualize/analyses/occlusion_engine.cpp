// Occlusion's computation (see occlusion_engine.h).
//
// The incremental method. Stage 0 is the input, stage i+1 the output of layer i. The square
// changes a box of the input; a layer with geometry changes the outputs whose windows see any of
// its input's changed box, a layer without (ReLU, LRN, dropout) the same box. For each stage we
// take one window size for all positions (the largest box, so that batches are uniform and the
// result does not depend on how positions are batched) and place each position's window over
// its box, inside the map. A layer then runs on a batch of crops: its input window's values where
// the previous stage changed, the clean pass's values elsewhere, and the layer's border value
// (zero padding, -inf for a pool's clipped windows) beyond the edge; layers without geometry run
// on the previous window itself. Past the prefix (the first fc), each position's whole map is the
// clean one with its window pasted in, and the rest of the net runs on those.
#include "visualize/analyses/occlusion_engine.h"

#include <algorithm>
#include <chrono>

#include "core/check.h"

namespace zf {

namespace {

struct Box {
  int y0 = 0, y1 = 0, x0 = 0, x1 = 0;  // [y0, y1) x [x0, x1); empty when y0 >= y1
  bool empty() const { return y0 >= y1 || x0 >= x1; }
};

int floor_div(int a, int b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The outputs (out_h x out_w) of layer `l` whose windows see any input in `in`. Output o sees
// input rows [o*s - p, o*s - p + k).
Box through(const Layer& l, const Box& in, int out_h, int out_w) {
  Geometry g;
  if (!l.geometry(&g) || in.empty()) return in;
  auto first = [&](int v) { return std::max(0, floor_div(v + g.pad - g.kernel, g.stride) + 1); };
  auto end = [&](int v, int n) { return std::min(n, floor_div(v - 1 + g.pad, g.stride) + 1); };
  Box b{first(in.y0), end(in.y1, out_h), first(in.x0), end(in.x1, out_w)};
  return b.empty() ? Box{} : b;
}

// One stage's windows: their size and each position's origin, and the clean pass's values.
struct Stage {
  int C = 0, H = 0, W = 0;
  int wh = 1, ww = 1;
  std::vector<int> oy, ox;
  const float* clean = nullptr;  // [C, H, W]
};

std::vector<Stage> plan_windows(Net& net, const Pass& clean, int prefix,
                                const std::vector<Box>& squares) {
  std::vector<Stage> st(prefix + 1);
  std::vector<Box> boxes = squares;
  for (int j = 0; j <= prefix; ++j) {
    const Tensor& t = j == 0 ? clean.input() : clean.output(j - 1);
    Stage& s = st[j];
    s.C = static_cast<int>(t.c()), s.H = static_cast<int>(t.h()), s.W = static_cast<int>(t.w());
    s.clean = t.f32();
    if (j > 0)
      for (Box& b : boxes) b = through(net.layer(j - 1), b, s.H, s.W);
    for (const Box& b : boxes)
      s.wh = std::max(s.wh, b.y1 - b.y0), s.ww = std::max(s.ww, b.x1 - b.x0);
    for (const Box& b : boxes) {
      // A window holding its box, inside the map (an empty box: any window; it stays clean).
      s.oy.push_back(std::clamp(b.y0, 0, s.H - s.wh));
      s.ox.push_back(std::clamp(b.x0, 0, s.W - s.ww));
    }
  }
  return st;
}

// Value (c, y, x) of stage `s` for position p (window slot n): the window's where it covers it.
inline float stage_at(const Stage& s, const float* win, int n, int p, int c, int y, int x) {
  const int wy = y - s.oy[p], wx = x - s.ox[p];
  if (wy >= 0 && wy < s.wh && wx >= 0 && wx < s.ww)
    return win[((static_cast<size_t>(n) * s.C + c) * s.wh + wy) * s.ww + wx];
  return s.clean[(static_cast<size_t>(c) * s.H + y) * s.W + x];
}

// The crops layer `g` needs for the windows of stage `out` (positions p0..p0+b-1), cut from
// stage `in` (its windows `win`).
void cut_crops(Tensor& crop, const Stage& in, const Tensor& win, const Stage& out,
               const Geometry& g, int p0, int b) {
  const int ch = (out.wh - 1) * g.stride + g.kernel, cw = (out.ww - 1) * g.stride + g.kernel;
  crop.ensure(Shape{b, in.C, ch, cw}, Device::CPU);
  float* dst = crop.f32();
  const float* w = win.f32();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < b; ++n)
    for (int c = 0; c < in.C; ++c) {
      const int p = p0 + n;
      const int y0 = out.oy[p] * g.stride - g.pad, x0 = out.ox[p] * g.stride - g.pad;
      float* d = dst + (static_cast<size_t>(n) * in.C + c) * ch * cw;
      for (int cy = 0; cy < ch; ++cy)
        for (int cx = 0; cx < cw; ++cx) {
          const int y = y0 + cy, x = x0 + cx;
          d[cy * cw + cx] = (y < 0 || y >= in.H || x < 0 || x >= in.W)
                                ? g.border
                                : stage_at(in, w, n, p, c, y, x);
        }
    }
}

// Stage `s` of positions p0.. as whole maps [b, C, H, W]: clean, with each window pasted in.
void whole_maps(Tensor& t, const Stage& s, const Tensor& win, int p0, int b) {
  t.ensure(Shape{b, s.C, s.H, s.W}, Device::CPU);
  float* dst = t.f32();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < b; ++n)
    for (int c = 0; c < s.C; ++c)
      for (int y = 0; y < s.H; ++y)
        for (int x = 0; x < s.W; ++x)
          dst[((static_cast<size_t>(n) * s.C + c) * s.H + y) * s.W + x] =
              stage_at(s, win.f32(), n, p0 + n, c, y, x);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs layer `l` on x into y in eval mode; `saved` holds its saved buffers (kept between calls, so
// that their memory is reused).
void run_layer(Layer& l, Tensor& y, const Tensor& x, bool unpadded, std::vector<Tensor>& saved) {
  saved.resize(l.saved_buffers(x.shape(), l.output_shape(x.shape())).size());
  RunState rs;
  rs.phase = Phase::Eval;
  if (unpadded)
    l.forward_unpadded(y, x, saved.data(), rs);
  else
    l.forward(y, x, saved.data(), rs);
}

// The chosen map's sum for each position of a chunk, and the probabilities, written into `m`.
void record(OcclusionMaps& m, const OcclusionSpec& spec, const std::vector<float>& sums,
            const Tensor& probs, int p0) {
  const int K = static_cast<int>(probs.dim(1));
  for (size_t n = 0; n < sums.size(); ++n) {
    const float* pr = probs.f32() + n * K;
    const int top = static_cast<int>(std::max_element(pr, pr + K) - pr);
    m.map_sum[p0 + n] = sums[n];
    m.p_true[p0 + n] = pr[spec.true_class];
    m.top[p0 + n] = top;
    m.top_p[p0 + n] = pr[top];
  }
}

// Map `f` of stage `s` (positions p0..p0+b-1, windows `win`) summed over its extent, in double.
std::vector<float> window_map_sums(const Stage& s, const Tensor& win, int p0, int b, int f) {
  std::vector<float> sums(static_cast<size_t>(b));
  for (int n = 0; n < b; ++n) {
    double acc = 0;
    for (int y = 0; y < s.H; ++y)
      for (int x = 0; x < s.W; ++x) acc += stage_at(s, win.f32(), n, p0 + n, f, y, x);
    sums[n] = static_cast<float>(acc);
  }
  return sums;
}

// Map `f` of a [b, F, ...] tensor summed over its extent, per sample, in double.
std::vector<float> map_sums(const Tensor& t, int f) {
  const int64_t b = t.dim(0), F = t.dim(1), per = t.numel() / (b * F);
  std::vector<float> s(static_cast<size_t>(b));
  for (int64_t n = 0; n < b; ++n) {
    double acc = 0;
    const float* v = t.f32() + (n * F + f) * per;
    for (int64_t i = 0; i < per; ++i) acc += v[i];
    s[n] = static_cast<float>(acc);
  }
  return s;
}

// The view with the square of position p painted, for positions p0..p0+b-1: [b, C, H, W].
void occluded_copies(Tensor& t, const std::vector<float>& x, const std::vector<float>& fill,
                     const Shape& chw, const std::vector<Box>& sq, int p0, int b) {
  const int C = static_cast<int>(chw[0]), H = static_cast<int>(chw[1]),
            W = static_cast<int>(chw[2]);
  const size_t per = static_cast<size_t>(C) * H * W;
  t.ensure(Shape{b, C, H, W}, Device::CPU);
  for (int n = 0; n < b; ++n) {
    float* d = t.f32() + n * per;
    std::copy(x.begin(), x.end(), d);
    const Box& q = sq[p0 + n];
    for (int c = 0; c < C; ++c)
      for (int y = q.y0; y < q.y1; ++y)
        for (int xx = q.x0; xx < q.x1; ++xx) {
          const size_t o = (static_cast<size_t>(c) * H + y) * W + xx;
          d[o] = fill[o];
        }
  }
}

// Stage 0's windows: what the squares of positions p0..p0+b-1 hold, [b, C, size, size].
void square_windows(Tensor& t, const std::vector<float>& fill, const Stage& in,
                    const std::vector<Box>& sq, int p0, int b, int size) {
  t.ensure(Shape{b, in.C, size, size}, Device::CPU);
  float* d = t.f32();
  for (int n = 0; n < b; ++n)
    for (int c = 0; c < in.C; ++c)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          *d++ =
              fill[(static_cast<size_t>(c) * in.H + sq[p0 + n].y0 + y) * in.W + sq[p0 + n].x0 + x];
}

void occlude_full(Net& net, const std::vector<float>& x, const std::vector<float>& fill,
                  const OcclusionSpec& spec, const std::vector<Box>& sq, OcclusionMaps& m) {
  const int P = static_cast<int>(sq.size());
  RunState rs;
  rs.phase = Phase::Eval;
  Tensor xb;
  for (int p0 = 0; p0 < P; p0 += spec.batch) {
    const int b = std::min(spec.batch, P - p0);
    const double t0 = now();
    occluded_copies(xb, x, fill, net.input_chw(), sq, p0, b);
    const Pass pass = net.forward_to(xb.to(net.device()), net.size() - 1, rs);
    const Tensor probs = pass.probabilities().to(Device::CPU);
    record(m, spec, map_sums(pass.output(spec.act).to(Device::CPU), spec.feature), probs, p0);
    if (spec.seconds) (*spec.seconds)[0] += now() - t0;
  }
}

}  // namespace

std::vector<int> occluder_starts(int side, int size, int stride) {
  ZF_CHECK(size >= 1 && size <= side, "occluder of %d px does not fit the %d px side", size, side);
  ZF_CHECK(stride >= 1, "occluder stride %d must be >= 1", stride);
  std::vector<int> s;
  for (int v = 0; v + size <= side; v += stride) s.push_back(v);
  if (s.back() + size < side) s.push_back(side - size);
  return s;
}

int spatial_prefix(Net& net) {
  const Shape& in = net.input_chw();
  Shape s{1, in[0], in[1], in[2]};
  for (int i = 0; i < net.size(); ++i) {
    const Shape o = net.layer(i).output_shape(s);
    Geometry g;
    const bool same_grid = o.ndim == 4 && o[2] == s[2] && o[3] == s[3];
    if (!net.layer(i).geometry(&g) && !same_grid) return i;
    if (o.ndim != 4) return i;
    s = o;
  }
  return net.size();
}

OcclusionMaps occlude(Net& net, const std::vector<float>& x, const std::vector<float>& fill,
                      const OcclusionSpec& spec) {
  const Shape& chw = net.input_chw();
  ZF_CHECK(static_cast<int64_t>(x.size()) == chw.numel() && fill.size() == x.size(),
           "occlude: view of %zu values for a %s input", x.size(), chw.str().c_str());
  ZF_CHECK(spec.batch >= 1, "occlude: batch %d", spec.batch);
  OcclusionMaps m;
  m.ys = occluder_starts(static_cast<int>(chw[1]), spec.size, spec.stride);
  m.xs = occluder_starts(static_cast<int>(chw[2]), spec.size, spec.stride);
  std::vector<Box> sq;
  for (int y : m.ys)
    for (int xx : m.xs) sq.push_back(Box{y, y + spec.size, xx, xx + spec.size});
  const size_t P = sq.size();
  m.map_sum.resize(P), m.p_true.resize(P), m.top.resize(P), m.top_p.resize(P);
  ZF_CHECK(spec.act >= 0 && spec.act < net.size() - 1, "occlude: activation %d", spec.act);
  const int prefix = spatial_prefix(net);
  if (!spec.incremental || prefix == 0) {
    if (spec.seconds) spec.seconds->assign(1, 0.0);
    occlude_full(net, x, fill, spec, sq, m);
    return m;
  }
  ZF_CHECK(net.device() == Device::CPU,
           "occlusion's incremental method runs on the CPU (use the full method on %s)",
           device_name(net.device()));
  if (spec.seconds) spec.seconds->assign(prefix + 1, 0.0);
  Tensor x0(Shape{1, chw[0], chw[1], chw[2]});
  std::copy(x.begin(), x.end(), x0.f32());
  RunState rs;
  rs.phase = Phase::Eval;
  const Pass clean = net.forward_to(x0, std::max(prefix - 1, 0), rs);
  const std::vector<Stage> st = plan_windows(net, clean, prefix, sq);
  // Buffers kept across chunks: windows per stage, crops and saved buffers per layer, the
  // later layers' whole outputs.
  std::vector<Tensor> win(prefix + 1), crop(prefix), tail(net.size());
  std::vector<std::vector<Tensor>> saved(net.size());
  for (size_t p0 = 0; p0 < P; p0 += spec.batch) {
    const int b = static_cast<int>(std::min<size_t>(spec.batch, P - p0)), q = static_cast<int>(p0);
    square_windows(win[0], fill, st[0], sq, q, b, spec.size);
    for (int i = 0; i < prefix; ++i) {
      const double t0 = now();
      Layer& l = net.layer(i);
      Geometry g;
      const bool geo = l.geometry(&g);
      if (geo) cut_crops(crop[i], st[i], win[i], st[i + 1], g, q, b);
      run_layer(l, win[i + 1], geo ? crop[i] : win[i], geo, saved[i]);
      if (spec.seconds) (*spec.seconds)[i] += now() - t0;
    }
    const double t0 = now();
    whole_maps(tail[prefix - 1], st[prefix], win[prefix], q, b);
    for (int i = prefix; i < net.size(); ++i)
      run_layer(net.layer(i), tail[i], tail[i - 1], false, saved[i]);
    const std::vector<float> sums =
        spec.act < prefix ? window_map_sums(st[spec.act + 1], win[spec.act + 1], q, b, spec.feature)
                          : map_sums(tail[spec.act], spec.feature);
    record(m, spec, sums, tail[net.size() - 1], q);
    if (spec.seconds) (*spec.seconds)[prefix] += now() - t0;
  }
  return m;
}

}  // namespace zf
