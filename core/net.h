// A sequential network built from a config's `layers:` list. It owns one activation buffer per
// layer (and one gradient buffer), allocated on the first pass and reused, and keeps every layer's
// saved state for backward and for deconvnet projections.
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
  // params).
  void setup(int batch);
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
  std::vector<Tensor> acts_, grads_;
  Tensor proj_[2];  // ping-pong buffers of project()
  const Tensor* input_ = nullptr;
  Device device_ = Device::CPU;
  int batch_ = 0;
};

}  // namespace zf
