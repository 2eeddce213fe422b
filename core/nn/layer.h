// Layers: thin objects over the ops that own their parameters, with forward, backward and the
// deconvnet step `project`. What a forward pass saves for its backward and projection (switches,
// LRN scale, dropout mask, loss statistics) is not the layer's: the layer declares those buffers
// (saved_buffers) and every call receives the ones of its pass (core/nn/net.h, Pass), so several
// passes can be alive at once. Code outside the layers asks a layer what it can do (geometry,
// is_loss, rectifies) and never compares type names. A new layer type is one file in core/nn/
// plus one line in registry.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/ops.h"

namespace zf {

enum class Phase { Train, Eval };

// What a forward pass needs besides its input. A Pass keeps its own copy of the labels, so the
// caller's tensor need not outlive the forward call.
struct RunState {
  Phase phase = Phase::Train;
  uint64_t seed = 0;  // run seed: dropout masks are rng(seed, stream = layer index + step << 16)
  uint64_t step = 0;  // global iteration, so every step draws fresh masks
  // The pass's first sample's index in the step's global batch: a data-parallel rank computes a
  // slice of it, and dropout draws the masks of those samples (train/comm.h).
  uint64_t sample_offset = 0;
  const Tensor* labels = nullptr;  // int32 [N], for the loss layer (absent when only predicting)
};

// Receptive-field geometry of a layer that slides a window (conv, maxpool). `border` is what the
// layer sees beyond its input's edge: 0 for zero padding, -inf for a max-pool's clipped windows.
struct Geometry {
  int kernel = 1, stride = 1, pad = 0;
  float border = 0.f;
};

// How a deconvnet projection crosses layers (DESIGN section 4).
struct ProjectOptions {
  ReluRule rule = ReluRule::Deconv;
  bool through_lrn = false;  // apply LRN's backward instead of skipping it
};

// A learnable tensor with its gradient and SGD momentum.
struct Param {
  std::string name;  // "weight" | "bias"
  Tensor value, grad, momentum;
  float init_std = 0.f;  // N(0, init_std) when > 0, else the constant init_value
  float init_value = 0.f;
  bool renorm = false;  // filter-RMS renormalization applies (conv weights)
  float lr_mult = 1.f;
  float decay_mult = 1.f;
  // Gives the value this shape (on the CPU at first, else where it already lives); a no-op, keeping
  // the contents, when the shape is unchanged.
  void shape_as(const Shape& s) { value.ensure(s, value.empty() ? Device::CPU : value.device()); }
};

// A buffer a layer keeps from its forward pass for backward and project (switches, LRN scale,
// dropout mask), as shaped for a given input: each Pass places its own in its arena (see Net).
struct BufferSpec {
  Shape shape;
  DType dtype = DType::F32;
};

// One layer's parameters from the config, typed on access, with the config path for errors:
// `layers[3].stride: must be >= 1`. Every key must be read once; finish() rejects the rest.
class LayerSpec {
 public:
  LayerSpec(std::string path, std::string name, std::string type,
            std::map<std::string, std::string> values);
  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }

  bool has(const std::string& key) const;
  int get_int(const std::string& key, int def, int min_value) const;
  int require_int(const std::string& key, int min_value) const;
  float get_float(const std::string& key, float def, float min_value, float max_value) const;
  bool get_bool(const std::string& key, bool def) const;  // true/false (YAML's spellings)
  void finish() const;  // throws on keys no getter asked for
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const;

 private:
  const std::string* find(const std::string& key) const;
  std::vector<std::string> known_keys() const;  // the keys this layer type reads
  std::string path_, name_, type_;
  std::map<std::string, std::string> values_;
  mutable std::set<std::string> used_;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* type() const = 0;

  // Checks the input shape (throwing with the layer's name) and returns the output shape, without
  // allocating anything (configs are checked with it before any net is built).
  virtual Shape output_shape(const Shape& in) const = 0;
  // output_shape, and shapes (allocates) the parameters for input `in`. Called when the net is
  // set up for a batch.
  virtual Shape setup(const Shape& in) { return output_shape(in); }
  // y = layer(x). x is the previous activation, y this layer's activation buffer in the pass,
  // `saved` this layer's saved buffers in the pass (as declared by saved_buffers).
  virtual void forward(Tensor& y, const Tensor& x, Tensor* saved, const RunState& rs) = 0;
  // forward on a window cut from this layer's input that already holds what lies beyond the
  // input's edge (Geometry::border, padding included): no padding of its own. What incremental
  // recomputation runs (zf_analyze occlusion recomputes only the windows an occluder changes).
  virtual void forward_unpadded(Tensor& y, const Tensor& x, Tensor* saved, const RunState& rs) {
    forward(y, x, saved, rs);
  }
  // Parameter gradients into Param::grad; dx (when non-null) = gradient w.r.t. x. `rs` is the run
  // state of the pass (its labels are the pass's copy).
  virtual void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                        const Tensor* saved, const RunState& rs) = 0;
  // The deconvnet step: signal r at this layer's output -> out at its input (DESIGN section 4).
  virtual void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor& y,
                       const Tensor* saved, const ProjectOptions& opt);

  // The buffers a pass keeps for this layer for input `in` and output `out`, and the device
  // scratch (bytes) its ops need on device `d`: the net reserves both when it is set up, so that no
  // pass allocates memory after the first.
  virtual std::vector<BufferSpec> saved_buffers(const Shape& in, const Shape& out) const {
    return {};
  }
  virtual size_t scratch_bytes(const Shape& in, const Shape& out, Device d) const { return 0; }

  virtual std::vector<Param*> params() { return {}; }
  // ---- capabilities, asked instead of type names
  // Convolutions and pools have receptive-field geometry; other layers keep it unchanged.
  virtual bool geometry(Geometry* g) const { return false; }
  // The loss layer: the last one, whose forward with labels writes the pass's loss statistics
  // into its first saved buffer (f32 [2]: mean loss, top-1 correct count) and whose output is
  // the class probabilities.
  virtual bool is_loss() const { return false; }
  // A rectifier: "layer L" of the paper is the rectified output of L, i.e. of the rectifier that
  // follows it when there is one.
  virtual bool rectifies() const { return false; }
  void set_index(int i) { index_ = i; }
  int index() const { return index_; }

 protected:
  std::string name_;
  int index_ = 0;
};

// Registry: layer type -> factory. Unknown types are rejected with the list of known ones.
using LayerFactory = std::unique_ptr<Layer> (*)(const LayerSpec&);
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);
std::vector<std::string> layer_types();

}  // namespace zf
