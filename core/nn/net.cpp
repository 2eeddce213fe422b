// Net and Pass: shape validation, the arenas, forward/backward and projection over the layers.
#include "core/nn/net.h"

#include <algorithm>

#include "core/backend.h"
#include "core/rng.h"

namespace zf {

// Pass arenas not in use, kept for the next forward. A pass gives its arena back only while the
// pool is for the same device (to() and a larger setup clear it).
struct Pass::Pool {
  std::vector<Tensor> free;
  Device device = Device::CPU;
};

// Where each buffer of one kind of arena goes: byte offsets, 256-byte aligned (as cudaMalloc's).
struct Net::Layout {
  std::vector<BufferSpec> specs;
  std::vector<size_t> offset;
  size_t total = 0;
  void add(const Shape& s, DType t = DType::F32) {
    constexpr size_t kAlign = 256;
    specs.push_back({s, t});
    offset.push_back(total);
    total += (static_cast<size_t>(s.numel()) * dtype_size(t) + kAlign - 1) / kAlign * kAlign;
  }
  // Binds `t` as buffer i of an arena at `base`.
  void bind(Tensor& t, size_t i, char* base, Device d) const {
    const BufferSpec& b = specs[i];
    t.bind(base + offset[i], static_cast<size_t>(b.shape.numel()) * dtype_size(b.dtype), d,
           b.shape, b.dtype);
  }
};

// ---- Pass -----------------------------------------------------------------------------------------

Pass::~Pass() {
  release();
}

Pass& Pass::operator=(Pass&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = std::move(o.pool_);
    arena_ = std::move(o.arena_);
    input_ = std::move(o.input_);
    labels_ = std::move(o.labels_);
    acts_ = std::move(o.acts_);
    saved_ = std::move(o.saved_);
    rs_ = o.rs_;
    if (rs_.labels) rs_.labels = &labels_;
    last_ = o.last_;
    loss_ = o.loss_;
    o.last_ = -1;
  }
  return *this;
}

void Pass::release() {
  acts_.clear();
  saved_.clear();
  input_ = Tensor();
  labels_ = Tensor();
  if (pool_ && !arena_.empty() && arena_.device() == pool_->device)
    pool_->free.push_back(std::move(arena_));
  arena_ = Tensor();
  pool_.reset();
  last_ = -1;
}

const Tensor& Pass::output(int i) const {
  ZF_CHECK(i >= 0 && i <= last_, "pass: no output of layer %d (this pass ran layers 0..%d)", i,
           last_);
  return acts_[i];
}

const Tensor& Pass::loss_stats() const {
  ZF_CHECK(loss_ && last_ == static_cast<int>(acts_.size()) - 1 && rs_.labels,
           "pass: no loss statistics (the pass did not run the loss layer with labels)");
  return saved_.back()[0];
}

const Tensor& Pass::probabilities() const {
  ZF_CHECK(loss_ && last_ == static_cast<int>(acts_.size()) - 1,
           "pass: no probabilities (the pass did not run the loss layer)");
  return acts_.back();
}

// ---- Net ------------------------------------------------------------------------------------------

Net::Net(std::vector<std::unique_ptr<Layer>> layers, Shape input_chw)
    : layers_(std::move(layers)), input_chw_(input_chw), pool_(std::make_shared<Pass::Pool>()) {
  ZF_CHECK(!layers_.empty(), "a net needs at least one layer");
  for (int i = 0; i < size(); ++i) {
    layers_[i]->set_index(i);
    ZF_CHECK(!layers_[i]->is_loss() || i == size() - 1,
             "layer %s: a %s layer can only be the last layer", layers_[i]->name().c_str(),
             layers_[i]->type());
  }
}

Net::~Net() = default;
Net::Net(Net&&) noexcept = default;
Net& Net::operator=(Net&&) noexcept = default;

void Net::setup(int batch) {
  ZF_CHECK(batch >= 1, "batch %d must be >= 1", batch);
  Shape s{batch, input_chw_[0], input_chw_[1], input_chw_[2]};
  shapes_.clear();
  for (auto& l : layers_) {
    s = l->setup(s);
    shapes_.push_back(s);
  }
  grads_.resize(layers_.size());
  batch_ = batch;
  planned_ = false;
}

Net::Layout Net::pass_layout() const {
  Layout L;
  Shape in{batch_, input_chw_[0], input_chw_[1], input_chw_[2]};
  L.add(in);
  L.add(Shape{batch_}, DType::I32);
  for (int i = 0; i < size(); ++i) L.add(shapes_[i]);
  for (int i = 0; i < size(); ++i) {
    for (const BufferSpec& b : layers_[i]->saved_buffers(in, shapes_[i])) L.add(b.shape, b.dtype);
    in = shapes_[i];
  }
  return L;
}

// Gives `p` an arena from the pool (allocating one only when none fits) and binds its views.
void Net::take_pass_arena(Pass& p) {
  const Layout L = pass_layout();
  std::vector<Tensor>& free = pool_->free;
  auto fits = std::find_if(free.begin(), free.end(), [&](const Tensor& a) { return a.bytes() >= L.total; });
  if (fits != free.end()) {
    p.arena_ = std::move(*fits);
    free.erase(fits);
  } else {
    p.arena_ = Tensor(Shape{static_cast<int64_t>(L.total / sizeof(float))}, device_);
  }
  p.pool_ = pool_;
  char* base = static_cast<char*>(p.arena_.raw());
  size_t k = 0;
  L.bind(p.input_, k++, base, device_);
  L.bind(p.labels_, k++, base, device_);
  p.acts_.resize(layers_.size());
  for (Tensor& a : p.acts_) L.bind(a, k++, base, device_);
  p.saved_.clear();
  p.saved_.resize(layers_.size());
  Shape in{batch_, input_chw_[0], input_chw_[1], input_chw_[2]};
  for (int i = 0; i < size(); ++i) {
    const size_t n = layers_[i]->saved_buffers(in, shapes_[i]).size();
    p.saved_[i].resize(n);
    for (Tensor& t : p.saved_[i]) L.bind(t, k++, base, device_);
    in = shapes_[i];
  }
}

void Net::lay_out_net_arena() {
  Layout L;
  size_t scratch = 0;
  int64_t biggest_input = 0;
  Shape in{batch_, input_chw_[0], input_chw_[1], input_chw_[2]};
  for (int i = 0; i < size(); ++i) {
    L.add(shapes_[i]);
    scratch = std::max(scratch, layers_[i]->scratch_bytes(in, shapes_[i], device_));
    biggest_input = std::max(biggest_input, in.numel());
    in = shapes_[i];
  }
  std::vector<NamedParam> ps = params();
  for (auto& np : ps) L.add(np.param->value.shape());
  for (int i = 0; i < 2; ++i) L.add(Shape{biggest_input});

  if (arena_.device() != device_ || arena_.bytes() < L.total) {
    drop_arena();
    arena_ = Tensor(Shape{static_cast<int64_t>(L.total / sizeof(float))}, device_);
  }
  char* base = static_cast<char*>(arena_.raw());
  size_t k = 0;
  for (Tensor& g : grads_) L.bind(g, k++, base, device_);
  for (auto& np : ps) L.bind(np.param->grad, k++, base, device_);
  for (Tensor& t : proj_) L.bind(t, k++, base, device_);
  backend::reserve_scratch(device_, scratch);
}

void Net::reserve_memory() {
  ZF_CHECK(batch_ >= 1, "reserve_memory before setup");
  lay_out_net_arena();
  if (pool_->device != device_) pool_->free.clear();
  pool_->device = device_;
  const size_t need = pass_layout().total;
  const bool have = std::any_of(pool_->free.begin(), pool_->free.end(),
                                [&](const Tensor& a) { return a.bytes() >= need; });
  if (!have) {
    // Arenas too small for this batch are of no further use.
    pool_->free.clear();
    pool_->free.push_back(Tensor(Shape{static_cast<int64_t>(need / sizeof(float))}, device_));
  }
  planned_ = true;
}

Tensor Net::param_grad_block() {
  if (!planned_) reserve_memory();
  std::vector<NamedParam> ps = params();
  ZF_CHECK(!ps.empty(), "param_grad_block: the net has no parameters");
  char* lo = static_cast<char*>(ps.front().param->grad.raw());
  const Tensor& g = ps.back().param->grad;
  const char* hi = static_cast<const char*>(g.raw()) + g.bytes();
  const int64_t n = static_cast<int64_t>((hi - lo) / sizeof(float));
  Tensor block;
  block.bind(lo, static_cast<size_t>(hi - lo), device_, Shape{n}, DType::F32);
  return block;
}

size_t Net::arena_bytes() const {
  size_t b = arena_.bytes();
  for (const Tensor& a : pool_->free) b += a.bytes();
  return b;
}

// Forgets every view into the net's arena (before it is freed or moves to another device).
void Net::drop_arena() {
  planned_ = false;
  for (auto& np : params()) np.param->grad = Tensor();
  for (Tensor& t : grads_) t = Tensor();
  proj_[0] = Tensor();
  proj_[1] = Tensor();
  arena_ = Tensor();
}

void Net::init_params(uint64_t seed) {
  uint64_t stream = 0;
  for (auto& np : params()) {
    Param& p = *np.param;
    Tensor host(p.value.shape());
    float* v = host.f32();
    for (int64_t i = 0; i < host.numel(); ++i)
      v[i] = p.init_std > 0.f ? p.init_std * rng_normal(seed, 1000 + stream, i) : p.init_value;
    p.value.ensure(host.shape(), device_);
    p.value.copy_from(host);
    p.momentum = Tensor::zeros(host.shape(), device_);
    ++stream;
  }
}

void Net::to(Device d) {
  drop_arena();
  pool_->free.clear();
  pool_->device = d;
  for (auto& np : params()) {
    Param& p = *np.param;
    if (!p.value.empty()) p.value = p.value.to(d);
    if (!p.momentum.empty()) p.momentum = p.momentum.to(d);
  }
  device_ = d;
}

Pass Net::forward(const Tensor& x, const RunState& rs) {
  return forward_to(x, size() - 1, rs);
}

Pass Net::forward_to(const Tensor& x, int last, const RunState& rs) {
  ZF_CHECK(last >= 0 && last < size(), "forward_to: layer %d of %d", last, size());
  ZF_CHECK(x.ndim() == 4 && x.dim(1) == input_chw_[0] && x.dim(2) == input_chw_[1] &&
               x.dim(3) == input_chw_[2],
           "net input %s does not match the config's input [N,%lld,%lld,%lld]",
           x.shape().str().c_str(), static_cast<long long>(input_chw_[0]),
           static_cast<long long>(input_chw_[1]), static_cast<long long>(input_chw_[2]));
  ZF_CHECK(x.device() == device_, "net input on %s, net on %s", device_name(x.device()),
           device_name(device_));
  if (rs.labels)
    ZF_CHECK(rs.labels->dtype() == DType::I32 && rs.labels->ndim() == 1 &&
                 rs.labels->dim(0) == x.dim(0) && rs.labels->device() == device_,
             "net labels %s do not match the input %s", rs.labels->desc().c_str(),
             x.desc().c_str());
  if (x.dim(0) != batch_) setup(static_cast<int>(x.dim(0)));
  if (!planned_) reserve_memory();
  Pass p;
  take_pass_arena(p);
  p.input_.copy_from(x);
  p.rs_ = rs;
  if (rs.labels) {
    p.labels_.copy_from(*rs.labels);
    p.rs_.labels = &p.labels_;
  }
  p.last_ = last;
  p.loss_ = has_loss();
  for (int i = 0; i <= last; ++i)
    layers_[i]->forward(p.acts_[i], i ? p.acts_[i - 1] : p.input_, p.saved_[i].data(), p.rs_);
  return p;
}

// The net's own buffers (gradients, projection buffers) shaped for the pass's batch, which may
// differ from the last forward's (two passes alive at once).
void Net::fit_to(const Pass& pass, const char* what) {
  ZF_CHECK(pass.input().device() == device_, "%s: the pass ran on %s, the net is on %s", what,
           device_name(pass.input().device()), device_name(device_));
  if (pass.batch() != batch_) setup(static_cast<int>(pass.batch()));
  if (!planned_) reserve_memory();
}

const Tensor& Net::project(const Pass& pass, const Tensor& r, int from,
                           const ProjectOptions& opt) {
  ZF_CHECK(!pass.empty(), "project: empty pass");
  ZF_CHECK(from >= 0 && from <= pass.last(), "project: layer %d, but the pass ran layers 0..%d",
           from, pass.last());
  fit_to(pass, "project");
  ZF_CHECK(r.shape() == pass.acts_[from].shape(), "project: signal %s, but layer %s outputs %s",
           r.shape().str().c_str(), layers_[from]->name().c_str(),
           pass.acts_[from].shape().str().c_str());
  const Tensor* cur = &r;
  for (int i = from; i >= 0; --i) {
    Tensor& out = proj_[i % 2];
    layers_[i]->project(out, *cur, i ? pass.acts_[i - 1] : pass.input_, pass.acts_[i],
                        pass.saved_[i].data(), opt);
    cur = &out;
  }
  return *cur;
}

void Net::backward(const Pass& pass, const std::function<void(int)>& done) {
  ZF_CHECK(!pass.empty() && pass.last() == size() - 1 && pass.has_labels(),
           "backward: needs a pass through every layer with labels");
  fit_to(pass, "backward");
  for (int i = size() - 1; i >= 0; --i) {
    const Tensor& x = i ? pass.acts_[i - 1] : pass.input_;
    Tensor* dx = i ? &grads_[i - 1] : nullptr;
    layers_[i]->backward(dx, grads_[i], x, pass.acts_[i], pass.saved_[i].data(), pass.rs_);
    if (done) done(i);
  }
}

int Net::find(const std::string& name) const {
  for (int i = 0; i < size(); ++i)
    if (layers_[i]->name() == name) return i;
  return -1;
}

std::vector<Net::NamedParam> Net::params() {
  std::vector<NamedParam> out;
  for (auto& l : layers_)
    for (Param* p : l->params()) out.push_back(NamedParam{l->name(), p});
  return out;
}

std::string Net::arch() const {
  std::string s;
  for (int i = 0; i < size(); ++i) {
    const Shape& o = shapes_[i];
    std::string os;
    for (int d = 1; d < o.ndim; ++d) os += (d > 1 ? "x" : "") + std::to_string(o[d]);
    s += layers_[i]->name() + " " + layers_[i]->type() + " -> " + os + "\n";
  }
  return s;
}

}  // namespace zf
