// First-layer filters (Zeiler & Fergus Fig. 6, ../shared/ANALYSES.md): a layer's filters as pictures
// for several checkpoints side by side, on one shared brightness scale (which shows a dominating
// filter, Fig. 6a) and each with its own contrast (Fig. 6b/c), with each filter's RMS and the
// count of dead filters.
#pragma once

#include <string>
#include <vector>

namespace zf {

struct FiltersOptions {
  std::vector<std::string> checkpoints;
  std::string layer;                    // "" = the first conv layer
  std::vector<std::string> scales{"shared", "each"};
  std::string out = "analyze";
};

void run_filters(const FiltersOptions& o);

}  // namespace zf
