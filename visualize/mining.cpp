// Strongest units, top-k mining over a data set (see mining.h).
#include "visualize/mining.h"

#include <algorithm>

#include "train/progress.h"

namespace zf {

Hit strongest_unit(const float* map, int h, int w, int64_t image) {
  int best = 0;
  for (int i = 1; i < h * w; ++i)
    if (map[i] > map[best]) best = i;
  return Hit{map[best], image, best / w, best % w};
}

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

namespace {

// `t` where the host can read it: itself on the CPU, else copied into `host`.
const Tensor& on_host(const Tensor& t, Tensor& host) {
  if (t.device() == Device::CPU) return t;
  host.ensure(t.shape(), Device::CPU);
  host.copy_from(t);
  return host;
}

// Offers the strongest unit of every map of every image in `act` [count, F, (H, W)].
void offer_batch(TopK& top, const Tensor& act, const int64_t* index, int64_t count) {
  const int F = static_cast<int>(act.dim(1));
  const MapSize m = map_size(act.shape());
  const int64_t plane = static_cast<int64_t>(m.h) * m.w;
  for (int64_t n = 0; n < count; ++n)
    for (int f = 0; f < F; ++f)
      top.offer(f, strongest_unit(act.f32() + (n * F + f) * plane, m.h, m.w, index[n]));
}

}  // namespace

void check_k_fits(int k, const Dataset& ds) {
  ZF_CHECK(k <= ds.size(), "k = %d is larger than the data set (%lld images in %s)", k,
           static_cast<long long>(ds.size()), ds.source().c_str());
}

std::vector<TopK> mine_topk(Session& s, const Dataset& ds, const std::vector<FeatureLayer>& layers,
                            int k, int batch) {
  check_k_fits(k, ds);
  std::vector<TopK> tops;
  int deepest = 0;
  for (const FeatureLayer& l : layers) {
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
    for (size_t li = 0; li < layers.size(); ++li)
      offer_batch(tops[li], on_host(pass.output(layers[li].act), host), b->index.data(), b->count);
    prog.update(loader.position());
  }
  prog.finish();
  return tops;
}

std::vector<ProjectRequest> strongest_features(const Tensor& act, int64_t n, int64_t image,
                                               int top) {
  const int F = static_cast<int>(act.dim(1));
  const MapSize m = map_size(act.shape());
  const int64_t plane = static_cast<int64_t>(m.h) * m.w;
  std::vector<ProjectRequest> req;
  for (int f = 0; f < F; ++f)
    req.push_back(
        ProjectRequest{f, strongest_unit(act.f32() + (n * F + f) * plane, m.h, m.w, image)});
  std::stable_sort(req.begin(), req.end(), [](const ProjectRequest& a, const ProjectRequest& b) {
    return a.hit.value > b.hit.value;
  });
  req.resize(std::min<size_t>(req.size(), static_cast<size_t>(std::max(top, 0))));
  return req;
}

}  // namespace zf
