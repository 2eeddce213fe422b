// A sequential network built from a net spec (core/nn/net_spec.h: build_net) or from layers made in
// code, and the Pass: what one forward pass leaves behind for its backward pass and projections.
//
// Memory. Every buffer lives in an arena sized from the shapes, so forward, backward and project
// allocate nothing after the first pass:
//   - each Pass owns one arena: a copy of the input and of the labels, every layer's activation and
//     the layers' saved buffers (switches, LRN scales, dropout masks, loss statistics). When a Pass
//     is destroyed its arena goes back to the net's pool, and the next forward takes it again, so a
//     training loop that keeps one pass per step reuses one arena; two passes alive at once hold two.
//   - the net owns one arena for what only one pass at a time uses: the activations' gradients, the
//     parameter gradients and the deconvnet's two projection buffers.
// A later setup whose buffers fit (a smaller last batch, evaluation) reuses both.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/nn/layer.h"

namespace zf {

class Net;

// What one forward pass computed and saved: its input and labels, each layer's activation (layers
// 0..last()), and the layers' saved buffers. backward() and project() take the pass they pair
// with, so nothing depends on which forward ran last; passes of different batch sizes can be alive
// together. Move-only; its buffers stay valid while it lives (they are its own); using it with the
// net after Net::to() is an error.
class Pass {
 public:
  Pass() = default;
  ~Pass();
  Pass(Pass&& o) noexcept { *this = std::move(o); }
  Pass& operator=(Pass&& o) noexcept;
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;

  bool empty() const { return acts_.empty(); }
  int last() const { return last_; }  // the deepest layer this pass ran
  int64_t batch() const { return input_.empty() ? 0 : input_.dim(0); }
  const Tensor& input() const { return input_; }
  const Tensor& output(int i) const;  // activation after layer i (i <= last())
  // Layer i's saved buffers (as its saved_buffers() declares them), for calling a layer directly.
  const Tensor* saved(int i) const { return saved_[i].data(); }
  const RunState& run() const { return rs_; }
  bool has_labels() const { return rs_.labels != nullptr; }
  // The loss layer's statistics on the net's device, f32 [2]: mean loss, top-1 correct count (a
  // forward through the loss layer with labels). Reading them is the one host wait of a step.
  const Tensor& loss_stats() const;
  // The class probabilities [N, K] (a forward through the loss layer).
  const Tensor& probabilities() const;

 private:
  friend class Net;
  struct Pool;
  void release();
  std::shared_ptr<Pool> pool_;  // where the arena goes back to
  Tensor arena_;
  Tensor input_, labels_;
  std::vector<Tensor> acts_;
  std::vector<std::vector<Tensor>> saved_;  // per layer, as Layer::saved_buffers declares
  RunState rs_;
  int last_ = -1;
  bool loss_ = false;  // the last layer is the loss layer
};

class Net {
 public:
  Net(std::vector<std::unique_ptr<Layer>> layers, Shape input_chw);
  ~Net();
  Net(Net&&) noexcept;
  Net& operator=(Net&&) noexcept;

  // Runs every layer's setup for a batch of `batch` images (validates all shapes; allocates
  // params). forward() calls it when the batch size changes.
  void setup(int batch);
  // Lays out the net's arena and one pass arena for the current batch and device now (else the
  // next forward does).
  void reserve_memory();
  size_t arena_bytes() const;  // the net's arena and the pass arenas it holds or has lent
  void init_params(uint64_t seed);
  void to(Device d);
  Device device() const { return device_; }

  // Forward through every layer. With rs.labels set and a loss layer last, the pass carries the
  // loss statistics (Pass::loss_stats) and can be backpropagated.
  Pass forward(const Tensor& x, const RunState& rs);
  // Forward through layers 0..last only (visualization needs no more).
  Pass forward_to(const Tensor& x, int last, const RunState& rs);
  // Backward through every layer of a full pass with labels; the input gets no gradient. `done`,
  // when given, is called with each layer's index once its backward is queued (from the last layer
  // to the first): the layer's parameter gradients are final once the queued work has run.
  void backward(const Pass& pass, const std::function<void(int)>& done = nullptr);
  // The deconvnet: carries `r` (shaped as output(from)) down through layers from..0 with each
  // layer's project step, using the switches and activations of `pass`; returns the signal in
  // input space. The result lives in a buffer of the net's: valid until the next project() or to().
  const Tensor& project(const Pass& pass, const Tensor& r, int from, const ProjectOptions& opt);

  int size() const { return static_cast<int>(layers_.size()); }
  Layer& layer(int i) { return *layers_[i]; }
  const Layer& layer(int i) const { return *layers_[i]; }
  int find(const std::string& name) const;  // -1 when absent
  bool has_loss() const { return layers_.back()->is_loss(); }
  const Shape& input_chw() const { return input_chw_; }
  Shape output_shape(int i) const { return shapes_[i]; }  // at the current batch

  struct NamedParam {
    std::string layer;
    Param* param;
  };
  std::vector<NamedParam> params();
  // Every parameter gradient as one f32 view [n] of the net's arena, from the first gradient to
  // the end of the last (with the few alignment gaps between them): what data-parallel training
  // sums over ranks. Valid until the next setup(), reserve_memory() or to().
  Tensor param_grad_block();
  std::string arch() const;  // one line per layer: "conv1 conv -> 32x32x32"

 private:
  struct Layout;
  Layout pass_layout() const;
  void take_pass_arena(Pass& p);
  void fit_to(const Pass& pass, const char* what);
  void lay_out_net_arena();
  void drop_arena();
  std::vector<std::unique_ptr<Layer>> layers_;
  Shape input_chw_;
  std::vector<Shape> shapes_;  // output shape of each layer at the current batch
  std::vector<Tensor> grads_;  // views into arena_
  Tensor proj_[2];             // ping-pong buffers of project(), views into arena_
  Tensor arena_;
  std::shared_ptr<Pass::Pool> pool_;
  Device device_ = Device::CPU;
  int batch_ = 0;
  bool planned_ = false;  // arena_ holds this batch's buffers on device_
};

}  // namespace zf
