// Sessions, receptive fields, top-k mining and deconvnet projections (see visualize.h).
#include "visualize/visualize.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "train/progress.h"

namespace zf {

Session open_session(const std::string& checkpoint, const std::string& config_path, Device device) {
  Session s;
  s.checkpoint = checkpoint;
  const RunCheckpoint stored = read_run_checkpoint(checkpoint);
  s.cfg = config_path.empty() ? parse_config(stored.config, checkpoint + " (stored config)")
                              : load_config(config_path);
  s.net = std::make_unique<Net>(build_net(s.cfg.net));
  s.meta = load_run_checkpoint(checkpoint, *s.net);
  s.norm = s.meta.state.norm;
  ZF_CHECK(!s.norm.mean.empty(), "%s: the checkpoint stores no input normalization (/data)",
           checkpoint.c_str());
  s.net->to(device);
  return s;
}

std::unique_ptr<Dataset> open_session_data(const Session& s, const std::string& data,
                                           int64_t limit) {
  DataConfig d = s.cfg.data;
  std::string path = data.empty() ? (d.val.empty() ? d.train : d.val) : data;
  d.train = path;
  d.limit_train = limit;
  std::unique_ptr<Dataset> ds = open_dataset(d, true);
  ZF_CHECK(ds->size() > 0, "%s: empty data set", path.c_str());
  const int crop = d.transform.crop ? d.transform.crop : ds->height() + 2 * d.transform.pad;
  const Shape& in = s.net->input_chw();
  ZF_CHECK(ds->channels() == in[0] && crop == in[1] && crop == in[2] &&
               ds->height() + 2 * d.transform.pad == s.norm.h,
           "%s: gives %dx%dx%d samples but the net takes %lldx%lldx%lld", path.c_str(),
           ds->channels(), crop, crop, static_cast<long long>(in[0]), static_cast<long long>(in[1]),
           static_cast<long long>(in[2]));
  return ds;
}

VisLayer find_vis_layer(Net& net, const std::string& name) {
  const int i = net.find(name);
  if (i < 0) {
    std::string known;
    for (const VisLayer& l : conv_layers(net)) known += (known.empty() ? "" : ", ") + l.name;
    ZF_THROW("no layer named '%s' (conv layers: %s)", name.c_str(), known.c_str());
  }
  ZF_CHECK(std::string(net.layer(i).type()) == "conv", "layer '%s' is a %s layer, not conv",
           name.c_str(), net.layer(i).type());
  VisLayer v;
  v.name = name;
  v.conv = i;
  v.act = (i + 1 < net.size() && net.layer(i + 1).rectifies()) ? i + 1 : i;
  v.features = static_cast<int>(net.output_shape(i)[1]);
  return v;
}

std::vector<VisLayer> conv_layers(Net& net) {
  std::vector<VisLayer> out;
  for (int i = 0; i < net.size(); ++i)
    if (std::string(net.layer(i).type()) == "conv")
      out.push_back(find_vis_layer(net, net.layer(i).name()));
  return out;
}

Field receptive_field(Net& net, int layer) {
  Field f;
  for (int i = 0; i <= layer; ++i) {
    Geometry g;
    if (!net.layer(i).geometry(&g)) continue;
    f.first -= g.pad * f.jump;
    f.size += (g.kernel - 1) * f.jump;
    f.jump *= g.stride;
  }
  return f;
}

// ---- top-k
// -----------------------------------------------------------------------------------------

namespace {
// Heap order: the weakest hit on top. Stronger = larger value, then lower image index.
bool stronger(const Hit& a, const Hit& b) {
  return a.value != b.value ? a.value > b.value : a.image < b.image;
}
}  // namespace

TopK::TopK(int features, int k) : k_(k), heaps_(static_cast<size_t>(features)) {
  ZF_CHECK(k >= 1, "k = %d must be >= 1", k);
}

void TopK::offer(int feature, const Hit& h) {
  auto& heap = heaps_[feature];
  if (static_cast<int>(heap.size()) < k_) {
    heap.push_back(h);
    std::push_heap(heap.begin(), heap.end(), stronger);
  } else if (stronger(h, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), stronger);
    heap.back() = h;
    std::push_heap(heap.begin(), heap.end(), stronger);
  }
}

std::vector<Hit> TopK::sorted(int feature) const {
  std::vector<Hit> v = heaps_[feature];
  std::sort(v.begin(), v.end(), stronger);
  return v;
}

std::vector<TopK> mine_topk(Session& s, const Dataset& ds, const std::vector<VisLayer>& layers,
                            int k, int batch) {
  ZF_CHECK(k <= ds.size(), "k = %d is larger than the data set (%lld images in %s)", k,
           static_cast<long long>(ds.size()), ds.source().c_str());
  std::vector<TopK> tops;
  int deepest = 0;
  for (const VisLayer& l : layers) {
    tops.emplace_back(l.features, k);
    deepest = std::max(deepest, l.act);
  }
  Loader::Options o;
  o.batch = batch, o.train = false, o.drop_last = false, o.threads = s.cfg.data.threads;
  Loader loader(ds, s.cfg.data.transform, s.norm, o);
  Net& net = *s.net;
  Tensor xdev, host;
  RunState rs;
  rs.phase = Phase::Eval;
  Progress prog("mining", ds.size(), 30.0);
  while (const Batch* b = loader.next()) {
    const Tensor* x = &b->x;
    if (net.device() != Device::CPU) {
      xdev.ensure(b->x.shape(), net.device());
      xdev.copy_from(b->x);
      x = &xdev;
    }
    const Pass pass = net.forward_to(*x, deepest, rs);
    for (size_t li = 0; li < layers.size(); ++li) {
      const Tensor& a = pass.output(layers[li].act);
      const Tensor* act = &a;
      if (a.device() != Device::CPU) {
        host.ensure(a.shape(), Device::CPU);
        host.copy_from(a);
        act = &host;
      }
      const int F = static_cast<int>(act->c()), H = static_cast<int>(act->h()),
                W = static_cast<int>(act->w());
      for (int64_t n = 0; n < b->count; ++n)
        for (int f = 0; f < F; ++f) {
          const float* p = act->f32() + (n * F + f) * H * W;
          int best = 0;
          for (int i = 1; i < H * W; ++i)
            if (p[i] > p[best]) best = i;
          tops[li].offer(f, Hit{p[best], b->index[n], best / W, best % W});
        }
    }
    prog.update(loader.position());
  }
  prog.finish();
  return tops;
}

// ---- projections
// -----------------------------------------------------------------------------------

namespace {

// Runs the forward pass for the requests [lo, hi) and projects each one's activation alone; calls
// sink(i, projection [C,H,W] in host memory, the image's view pixels [C,H,W]) for each.
template <class Sink>
void project_batches(Session& s, const Dataset& ds, const VisLayer& layer,
                     const std::vector<ProjectRequest>& req, const ProjectOptions& opt, int batch,
                     Sink&& sink) {
  Net& net = *s.net;
  const Shape& in = net.input_chw();
  const int64_t sample = in[0] * in[1] * in[2];
  Tensor x, xdev, r, rdev, host_r, out;
  std::vector<uint8_t> pixels;
  RunState rs;
  rs.phase = Phase::Eval;
  for (size_t lo = 0; lo < req.size(); lo += static_cast<size_t>(batch)) {
    const size_t hi = std::min(req.size(), lo + static_cast<size_t>(batch));
    const int64_t B = static_cast<int64_t>(hi - lo);
    x.ensure(Shape{B, in[0], in[1], in[2]}, Device::CPU);
    pixels.resize(static_cast<size_t>(B * sample));
    for (size_t i = lo; i < hi; ++i)
      view_sample(ds, s.cfg.data.transform, s.norm, req[i].hit.image, kCenterView,
                  x.f32() + (i - lo) * sample, pixels.data() + (i - lo) * sample);
    const Tensor* xin = &x;
    if (net.device() != Device::CPU) {
      xdev.ensure(x.shape(), net.device());
      xdev.copy_from(x);
      xin = &xdev;
    }
    const Pass pass = net.forward_to(*xin, layer.act, rs);
    // The signal: each image's chosen activation, everything else zero.
    const Tensor& a = pass.output(layer.act);
    host_r.ensure(a.shape(), Device::CPU);
    host_r.copy_from(a);
    const int64_t F = a.c(), H = a.h(), W = a.w();
    r.ensure(a.shape(), Device::CPU);
    r.zero();
    for (size_t i = lo; i < hi; ++i) {
      const ProjectRequest& q = req[i];
      ZF_CHECK(q.feature >= 0 && q.feature < F && q.hit.y >= 0 && q.hit.y < H && q.hit.x >= 0 &&
                   q.hit.x < W,
               "feature %d at (%d, %d) outside layer %s [%lld,%lld,%lld]", q.feature, q.hit.y,
               q.hit.x, layer.name.c_str(), static_cast<long long>(F), static_cast<long long>(H),
               static_cast<long long>(W));
      const int64_t o =
          ((static_cast<int64_t>(i - lo) * F + q.feature) * H + q.hit.y) * W + q.hit.x;
      r.f32()[o] = host_r.f32()[o];
    }
    const Tensor* rin = &r;
    if (net.device() != Device::CPU) {
      rdev.ensure(r.shape(), net.device());
      rdev.copy_from(r);
      rin = &rdev;
    }
    const Tensor& p = net.project(pass, *rin, layer.act, opt);
    out.ensure(p.shape(), Device::CPU);
    out.copy_from(p);
    for (size_t i = lo; i < hi; ++i) {
      const int64_t k = static_cast<int64_t>(i - lo) * sample;
      sink(i, out.f32() + k, pixels.data() + k);
    }
  }
}

}  // namespace

std::vector<Projection> project_hits(Session& s, const Dataset& ds, const VisLayer& layer,
                                     const std::vector<ProjectRequest>& req,
                                     const ProjectOptions& opt, int batch) {
  Net& net = *s.net;
  const Field f = receptive_field(net, layer.act);
  const Shape& in = net.input_chw();
  const int C = static_cast<int>(in[0]), H = static_cast<int>(in[1]), W = static_cast<int>(in[2]);
  std::vector<Projection> res(req.size());
  project_batches(
      s, ds, layer, req, opt, batch, [&](size_t i, const float* full, const uint8_t* pixels) {
        Projection& pr = res[i];
        pr.proj.assign(static_cast<size_t>(C) * f.size * f.size, 0.f);
        pr.patch.assign(pr.proj.size(), 0);
        const int y0 = f.first + req[i].hit.y * f.jump, x0 = f.first + req[i].hit.x * f.jump;
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
      });
  return res;
}

std::vector<std::vector<float>> project_full(Session& s, const Dataset& ds, const VisLayer& layer,
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

// ---- pictures
// --------------------------------------------------------------------------------------

Image blank_image(int width, int height, int channels, uint8_t value) {
  Image img;
  img.width = width, img.height = height, img.channels = channels;
  img.pixels.assign(static_cast<size_t>(width) * height * channels, value);
  return img;
}

Image display_projection(const float* chw, int c, int h, int w, int zoom) {
  float m = 0.f;
  for (int i = 0; i < c * h * w; ++i) m = std::max(m, std::fabs(chw[i]));
  const float s = m > 0.f ? 127.f / m : 0.f;
  Image img = blank_image(w * zoom, h * zoom, c, 128);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x)
      for (int k = 0; k < c; ++k)
        img.at(y, x, k) = static_cast<uint8_t>(
            std::lround(128.f + s * chw[(static_cast<size_t>(k) * h + y / zoom) * w + x / zoom]));
  return img;
}

Image display_patch(const uint8_t* chw, int c, int h, int w, int zoom) {
  Image img = blank_image(w * zoom, h * zoom, c, 0);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x)
      for (int k = 0; k < c; ++k)
        img.at(y, x, k) = chw[(static_cast<size_t>(k) * h + y / zoom) * w + x / zoom];
  return img;
}

void paste(Image& dst, const Image& src, int x0, int y0) {
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x) {
      const int dy = y0 + y, dx = x0 + x;
      if (dy < 0 || dy >= dst.height || dx < 0 || dx >= dst.width) continue;
      for (int c = 0; c < dst.channels; ++c)
        dst.at(dy, dx, c) = src.at(y, x, src.channels == dst.channels ? c : 0);
    }
}

namespace {
// 5x7 glyphs, one byte per row, bit 4 = leftmost column.
struct Glyph {
  char ch;
  uint8_t rows[7];
};
const Glyph kFont[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
    {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
    {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}},
    {'c', {0, 0, 14, 16, 16, 17, 14}},   {'d', {1, 1, 13, 19, 17, 17, 15}},
    {'e', {0, 0, 14, 17, 31, 16, 14}},   {'f', {6, 9, 8, 28, 8, 8, 8}},
    {'g', {0, 15, 17, 17, 15, 1, 14}},   {'h', {16, 16, 22, 25, 17, 17, 17}},
    {'i', {4, 0, 12, 4, 4, 4, 14}},      {'j', {2, 0, 6, 2, 2, 18, 12}},
    {'k', {16, 16, 18, 20, 24, 20, 18}}, {'l', {12, 4, 4, 4, 4, 4, 14}},
    {'m', {0, 0, 26, 21, 21, 17, 17}},   {'n', {0, 0, 22, 25, 17, 17, 17}},
    {'o', {0, 0, 14, 17, 17, 17, 14}},   {'p', {0, 0, 30, 17, 30, 16, 16}},
    {'q', {0, 0, 13, 19, 15, 1, 1}},     {'r', {0, 0, 22, 25, 16, 16, 16}},
    {'s', {0, 0, 14, 16, 14, 1, 30}},    {'t', {8, 8, 28, 8, 8, 9, 6}},
    {'u', {0, 0, 17, 17, 17, 19, 13}},   {'v', {0, 0, 17, 17, 17, 10, 4}},
    {'w', {0, 0, 17, 17, 21, 21, 10}},   {'x', {0, 0, 17, 10, 4, 10, 17}},
    {'y', {0, 0, 17, 17, 15, 1, 14}},    {'z', {0, 0, 31, 2, 4, 8, 31}},
    {'-', {0, 0, 0, 31, 0, 0, 0}},       {':', {0, 12, 12, 0, 12, 12, 0}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {' ', {0, 0, 0, 0, 0, 0, 0}},
};
const Glyph* glyph(char c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const Glyph& g : kFont)
    if (g.ch == c) return &g;
  return nullptr;
}
}  // namespace

int text_width(const std::string& text, int scale) {
  return static_cast<int>(text.size()) * 6 * scale;
}

void draw_text(Image& img, int x0, int y0, const std::string& text, uint8_t value, int scale) {
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph* g = glyph(text[i]);
    if (!g) continue;
    for (int r = 0; r < 7; ++r)
      for (int col = 0; col < 5; ++col) {
        if (!(g->rows[r] & (16 >> col))) continue;
        for (int sy = 0; sy < scale; ++sy)
          for (int sx = 0; sx < scale; ++sx) {
            const int y = y0 + r * scale + sy,
                      x = x0 + (static_cast<int>(i) * 6 + col) * scale + sx;
            if (y >= 0 && y < img.height && x >= 0 && x < img.width)
              for (int c = 0; c < img.channels; ++c) img.at(y, x, c) = value;
          }
      }
  }
}

}  // namespace zf
