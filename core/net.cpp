// Net: shape validation, forward/backward and projection over the sequence of layers.
#include "core/net.h"

#include <algorithm>

#include "core/backend.h"
#include "core/layers/softmax_loss.h"
#include "core/rng.h"

namespace zf {

Net::Net(std::vector<std::unique_ptr<Layer>> layers, Shape input_chw)
    : layers_(std::move(layers)), input_chw_(input_chw) {
  ZF_CHECK(!layers_.empty(), "a net needs at least one layer");
  for (int i = 0; i < size(); ++i) {
    layers_[i]->set_index(i);
    const bool is_loss = dynamic_cast<SoftmaxLossLayer*>(layers_[i].get()) != nullptr;
    ZF_CHECK(!is_loss || i == size() - 1, "layer %s: softmax_loss can only be the last layer",
             layers_[i]->name().c_str());
  }
}

void Net::setup(int batch) {
  ZF_CHECK(batch >= 1, "batch %d must be >= 1", batch);
  Shape s{batch, input_chw_[0], input_chw_[1], input_chw_[2]};
  shapes_.clear();
  for (auto& l : layers_) {
    s = l->setup(s);
    shapes_.push_back(s);
  }
  acts_.resize(layers_.size());
  grads_.resize(layers_.size());
  batch_ = batch;
  planned_ = false;
}

void Net::reserve_memory() {
  ZF_CHECK(batch_ >= 1, "reserve_memory before setup");
  std::vector<SavedBuffer> bufs;
  size_t scratch = 0;
  int64_t biggest_input = 0;
  Shape in{batch_, input_chw_[0], input_chw_[1], input_chw_[2]};
  for (int i = 0; i < size(); ++i) {
    bufs.push_back({&acts_[i], shapes_[i]});
    bufs.push_back({&grads_[i], shapes_[i]});
    layers_[i]->saved_buffers(in, shapes_[i], bufs);
    scratch = std::max(scratch, layers_[i]->scratch_bytes(in, shapes_[i], device_));
    biggest_input = std::max(biggest_input, in.numel());
    in = shapes_[i];
  }
  for (auto& np : params()) bufs.push_back({&np.param->grad, np.param->value.shape()});
  for (Tensor& t : proj_) bufs.push_back({&t, Shape{biggest_input}});

  constexpr size_t kAlign = 256;  // bytes, as cudaMalloc's
  std::vector<size_t> offset;
  size_t total = 0;
  for (const SavedBuffer& b : bufs) {
    offset.push_back(total);
    total +=
        (static_cast<size_t>(b.shape.numel()) * dtype_size(b.dtype) + kAlign - 1) / kAlign * kAlign;
  }
  if (arena_.device() != device_ || arena_.bytes() < total) {
    drop_arena();
    arena_ = Tensor(Shape{static_cast<int64_t>(total / sizeof(float))}, device_);
  }
  char* base = static_cast<char*>(arena_.raw());
  for (size_t i = 0; i < bufs.size(); ++i)
    bufs[i].tensor->bind(base + offset[i],
                         static_cast<size_t>(bufs[i].shape.numel()) * dtype_size(bufs[i].dtype),
                         device_, bufs[i].shape, bufs[i].dtype);
  backend::reserve_scratch(scratch);
  planned_ = true;
}

// Forgets every view into the arena (before it is freed or moves to another device).
void Net::drop_arena() {
  planned_ = false;
  std::vector<SavedBuffer> bufs;  // only the tensors are used: the shapes may be stale
  for (int i = 0; i < size() && i < static_cast<int>(shapes_.size()); ++i)
    layers_[i]->saved_buffers(shapes_[i], shapes_[i], bufs);
  for (SavedBuffer& b : bufs)
    if (!b.tensor->owns_storage()) *b.tensor = Tensor();
  for (auto& np : params()) np.param->grad = Tensor();
  for (Tensor& t : acts_) t = Tensor();
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
  for (auto& np : params()) {
    Param& p = *np.param;
    if (!p.value.empty()) p.value = p.value.to(d);
    if (!p.momentum.empty()) p.momentum = p.momentum.to(d);
  }
  device_ = d;
}

float Net::forward(const Tensor& x, const RunState& rs) {
  forward_to(x, size() - 1, rs);
  auto* loss = dynamic_cast<SoftmaxLossLayer*>(layers_.back().get());
  return loss ? loss->loss() : 0.f;
}

void Net::forward_to(const Tensor& x, int last, const RunState& rs) {
  ZF_CHECK(last >= 0 && last < size(), "forward_to: layer %d of %d", last, size());
  ZF_CHECK(x.ndim() == 4 && x.dim(1) == input_chw_[0] && x.dim(2) == input_chw_[1] &&
               x.dim(3) == input_chw_[2],
           "net input %s does not match the config's input [N,%lld,%lld,%lld]",
           x.shape().str().c_str(), static_cast<long long>(input_chw_[0]),
           static_cast<long long>(input_chw_[1]), static_cast<long long>(input_chw_[2]));
  ZF_CHECK(x.device() == device_, "net input on %s, net on %s", device_name(x.device()),
           device_name(device_));
  if (x.dim(0) != batch_) setup(static_cast<int>(x.dim(0)));
  if (!planned_) reserve_memory();
  input_ = &x;
  for (int i = 0; i <= last; ++i) layers_[i]->forward(acts_[i], i ? acts_[i - 1] : x, rs);
}

const Tensor& Net::project(const Tensor& r, int from, const ProjectOptions& opt) {
  ZF_CHECK(input_, "project before forward");
  ZF_CHECK(from >= 0 && from < size(), "project: layer %d of %d", from, size());
  ZF_CHECK(r.shape() == acts_[from].shape(), "project: signal %s, but layer %s outputs %s",
           r.shape().str().c_str(), layers_[from]->name().c_str(),
           acts_[from].shape().str().c_str());
  const Tensor* cur = &r;
  for (int i = from; i >= 0; --i) {
    Tensor& out = proj_[i % 2];
    layers_[i]->project(out, *cur, i ? acts_[i - 1] : *input_, acts_[i], opt);
    cur = &out;
  }
  return *cur;
}

void Net::backward() {
  ZF_CHECK(input_, "backward before forward");
  for (int i = size() - 1; i >= 0; --i) {
    const Tensor& x = i ? acts_[i - 1] : *input_;
    Tensor* dx = i ? &grads_[i - 1] : nullptr;
    layers_[i]->backward(dx, grads_[i], x, acts_[i]);
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
