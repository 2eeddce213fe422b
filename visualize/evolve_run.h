// What zf_evolve does, as one call: feature evolution during training (the paper's Fig. 4). For
// every snapshot in a checkpoint folder and the same randomly chosen features of each feature
// layer, the strongest activation over a data set, projected; per layer <out>/<layer>.h5 and
// <out>/<layer>.png (rows = features, columns = epochs), and the first filtering layer's filters at
// every snapshot (<out>/<layer>_filters.png).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zf {

struct EvolveRunOptions {
  std::string checkpoints, data, out = "evolve", device = "cpu";
  std::vector<std::string> layers;  // any layers by name; empty = every filtering (conv) layer
  int per_layer = 8, batch = 64;
  int64_t limit = 0;
  uint64_t seed = 1;
};

// Writes the outputs and prints one line per file; throws zf::Error on bad input.
void run_evolve(const EvolveRunOptions& o);

struct Snapshot {
  int epoch;
  std::string path;
};
// The epoch_NNN.h5 files of `dir`, by epoch.
std::vector<Snapshot> find_snapshots(const std::string& dir);
// n distinct features of `count`, drawn from the seeded RNG (a partial Fisher-Yates shuffle),
// sorted.
std::vector<int> choose_features(int count, int n, uint64_t seed, uint64_t stream);

}  // namespace zf
