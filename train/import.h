// zf_import: weights trained elsewhere (a safetensors file, e.g. from scripts/export_torch.py) into
// a zfnet checkpoint for the net a config describes, so that zf_project, zf_evolve, zf_analyze,
// zf_predict and zf_train --init-from work on it.
//
// The name map (YAML) says which tensor of the file each parameter of the net takes:
//   conv1.weight: features.0.weight        # <layer>.<weight|bias>: <tensor name in the file>
//   conv1.bias: features.0.bias
//   adaptive_avgpool: {after: pool5, size: [6, 6]}   # optional: the source net's adaptive average
//                                                    # pooling there, which must be the identity
// Without a map each parameter takes the tensor of its own name (conv1.weight), which is what
// scripts/to_torch.py's modules are called. Every parameter must be mapped to a tensor of the same
// shape; a tensor of the file that nothing takes is an error (--allow-unused: a warning).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zf {

struct ImportOptions {
  std::string weights;  // .safetensors
  std::string config;   // YAML config of the net
  std::string map;      // name map (YAML); "" = identity
  std::string out;      // checkpoint to write
  // Input normalization the weights were trained with. mean/std: per channel, on pixels scaled to
  // [0, 1] (PyTorch's transforms.Normalize); pixel_mean: a safetensors file holding one [C, H, W]
  // tensor in pixel units (0..255, Caffe's mean image) of the padded image size. scale multiplies
  // after either. Neither given: mean 0, std 1 (transforms.ToTensor's [0, 1] pixels).
  std::vector<float> mean, std;
  std::string pixel_mean;
  float scale = 1.f;
  std::string classes;  // class names file, one per line ("" = none stored)
  bool allow_unused = false;
};

struct ImportResult {
  int tensors = 0;        // parameters assigned
  int64_t values = 0;     // their element count
  std::vector<std::string> unused;  // tensors of the file nothing took (allowed by allow_unused)
};

// Throws zf::Error with one line naming the tensor, parameter, map key or option at fault.
ImportResult import_weights(const ImportOptions& opt);

}  // namespace zf
