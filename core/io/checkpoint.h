// HDF5 checkpoints (DESIGN section 5): the parameter part, shared by training, visualization and
// import. Written to a temporary name in the same folder and renamed, so a crash never leaves a
// torn file under the final name.
//   / attrs: format="zfnet-checkpoint", version=1, epoch, iteration, arch, config   (the header)
//   /params/<layer>/weight|bias            float32, PyTorch layouts
//   /optim/<layer>/weight_momentum|bias_momentum
// The training run's state (/state, /metrics, /data: train/train_state.h) is written into the same
// file through the `extra` writer and read back through the `read` callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/io/h5io.h"
#include "core/nn/net.h"

namespace zf {

// Epoch counts a checkpoint may carry (they become ints).
constexpr int kMaxEpoch = 1000000;

struct CheckpointHeader {
  int epoch = 0;          // epochs finished
  int64_t iteration = 0;  // SGD steps taken
  std::string arch;       // Net::arch() of the saving net
  std::string config;     // the (effective) YAML text the net was built from
};

// Writes the header, the parameters and momenta of `net`, then whatever `extra` adds.
void save_checkpoint(const std::string& path, Net& net, const CheckpointHeader& h,
                     const std::function<void(hid_t)>& extra = {});
// Reads the header (no net needed), then lets `read` read the rest of the open file.
CheckpointHeader read_checkpoint(const std::string& path,
                                 const std::function<void(hid_t)>& read = {});
// Reads the header and loads parameters and momenta into `net`, which must have the same
// architecture (one line names the first layer that differs); then calls `read`.
CheckpointHeader load_checkpoint(const std::string& path, Net& net,
                                 const std::function<void(hid_t)>& read = {});

// Loads the parameters (not the momenta) of `net`'s layers from the checkpoint at `path` by layer
// and parameter name, whatever the rest of its architecture: for starting a run from another one's
// weights (zf_train --init-from). Layers named in `skip` keep what they hold; every other parameter
// must be in the file with the same shape (one line names the first that is not). Returns the
// number of values loaded.
int64_t load_params_by_name(const std::string& path, Net& net, const std::vector<std::string>& skip);

// A float32 dataset with the tensor's shape (any device).
void write_f32(hid_t parent, const std::string& name, const Tensor& t);

}  // namespace zf
