// A sequential network built from a config's `layers:` list. Its first pass after setup(batch) or
// to() places every buffer a pass needs (each layer's activation and its gradient, parameter
// gradients, the layers' saved state: switches, LRN scales, dropout masks, and the deconvnet's two
// projection buffers) in one allocation on the net's device, the arena, sized from the shapes, and
// reserves the ops' device scratch; so forward, backward and project allocate nothing. A later
// setup whose buffers fit (e.g. a smaller last batch) reuses the arena.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/layers/layer.h"

namespace zf {

class Net {
 public:
  // `layers_yaml` is the YAML text of the whole config; `source` names it in errors. The input is
  // [channels, height, width] from the config's `input:` map.
  static Net from_yaml(const std::string& yaml_text, const std::string& source);

  Net(std::vector<std::unique_ptr<Layer>> layers, Shape input_chw);
  Net(Net&&) = default;
  Net& operator=(Net&&) = default;

  // Runs every layer's setup for a batch of `batch` images (validates all shapes; allocates
  // params). forward() calls it when the batch size changes.
  void setup(int batch);
  // Lays out the arena for the current batch and device now (else the next forward does).
  void reserve_memory();
  size_t arena_bytes() const { return arena_.bytes(); }
  void init_params(uint64_t seed);
  void to(Device d);
  Device device() const { return device_; }

  // Forward through every layer; returns the mean loss when rs.labels is set.
  float forward(const Tensor& x, const RunState& rs);
  // Forward through layers 0..last only (visualization needs no more).
  void forward_to(const Tensor& x, int last, const RunState& rs);
  // The deconvnet: carries `r` (shaped as output(from)) down through layers from..0 with each
  // layer's project step; returns the signal in input space. Needs the forward pass of the same
  // batch. The result lives in a buffer of the net's: valid until the next project() or to().
  const Tensor& project(const Tensor& r, int from, const ProjectOptions& opt);
  // Backward through every layer (after a forward with labels); the input gets no gradient.
  void backward();

  int size() const { return static_cast<int>(layers_.size()); }
  Layer& layer(int i) { return *layers_[i]; }
  int find(const std::string& name) const;  // -1 when absent
  const Tensor& input() const { return *input_; }
  const Tensor& output(int i) const { return acts_[i]; }  // activation after layer i
  const Tensor& probabilities() const { return acts_.back(); }
  const Shape& input_chw() const { return input_chw_; }
  Shape output_shape(int i) const { return shapes_[i]; }  // at the current batch

  struct NamedParam {
    std::string layer;
    Param* param;
  };
  std::vector<NamedParam> params();
  std::string arch() const;  // one line per layer: "conv1 conv 1x32x32 -> 32x32x32"

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  Shape input_chw_;
  std::vector<Shape> shapes_;  // output shape of each layer at the current batch
  void drop_arena();
  std::vector<Tensor> acts_, grads_;  // views into arena_
  Tensor proj_[2];                    // ping-pong buffers of project(), views into arena_
  Tensor arena_;
  const Tensor* input_ = nullptr;
  Device device_ = Device::CPU;
  int batch_ = 0;
  bool planned_ = false;  // the arena holds this batch's buffers on device_
};

}  // namespace zf
