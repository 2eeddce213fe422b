// libFuzzer target: checkpoints (core/io/checkpoint.cpp, train/train_state.cpp): the input is
// written to a file, read without a net (read_run_checkpoint) and loaded into the micro net of
// fuzz_util.h (load_run_checkpoint). Mutations touch dataset payloads only (fuzz_h5_payload.h).
#include <cstdint>

#include "core/nn/net_spec.h"
#include "tests/fuzz/fuzz_h5_payload.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/config.h"
#include "train/train_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static zf::Net net = zf::build_net(zf::parse_config(zf::fuzz::kMicroConfig, "micro.yaml").net);
  const std::string path = zf::fuzz::write_scratch("c.h5", data, size);
  zf::fuzz::refusal_ok([&] {
    const zf::RunCheckpoint rc = zf::read_run_checkpoint(path);
    if (rc.state.norm.inv_std.size() != static_cast<size_t>(rc.state.norm.c)) std::abort();
  });
  zf::fuzz::refusal_ok([&] {
    const zf::RunCheckpoint rc = zf::load_run_checkpoint(path, net);
    // What the trainer and the visualization index by after a load.
    for (const auto& m : rc.state.metrics)
      if (m.epoch < 0) std::abort();
  });
  return 0;
}
