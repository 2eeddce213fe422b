// A net as a config describes it, before anything is built: the input shape and each layer's spec
// (type, name, its keys with their config paths). train/config.cpp fills it from the YAML in the
// one parse of a config; tests and tools may write one in code. Building and checking need no YAML
// (this is part of zf_layers, which the GPU machine's CUDA-only builds have).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/nn/net.h"

namespace zf {

struct NetSpec {
  std::string source;  // names the config in errors ("configs/fashion.yaml")
  Shape input_chw;     // [channels, height, width]
  std::vector<LayerSpec> layers;
};

// The layers of `spec` (registry types, each spec's keys validated). Throws naming the path.
std::vector<std::unique_ptr<Layer>> make_layers(const NetSpec& spec);
// Checks that the layers exist and their shapes chain from the input, allocating nothing; errors
// name the config.
void check_net_spec(const NetSpec& spec);
// The net of `spec`, set up for batch 1 (parameters shaped, not initialized).
Net build_net(const NetSpec& spec);

}  // namespace zf
