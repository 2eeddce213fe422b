// zf_evolve: feature evolution during training (the paper's Fig. 4): for every snapshot in a
// checkpoint folder and the same randomly chosen features of each layer, the strongest activation
// over a data set, projected to pixel space. Options only; the work is run_evolve
// (visualize/evolve_run.h).
#include "train/cli.h"
#include "visualize/evolve_run.h"

using namespace zf;

int main(int argc, char** argv) {
  EvolveRunOptions o;
  CLI::App app{
      "render feature evolution across training snapshots (Zeiler & Fergus Fig. 4): for each "
      "snapshot and the same random features, the strongest activation's projection"};
  app.name("zf_evolve");
  app.add_option("--checkpoints", o.checkpoints,
                 "folder with epoch_NNN.h5 snapshots (zf_train's <out>/ckpt), or one checkpoint "
                 "file (an imported net: one column)")
      ->required();
  app.add_option("--data", o.data,
                 "data set to search (default: the stored config's validation set, else "
                 "its training set)");
  app.add_option("--layers", o.layers,
                 "layers to show, comma-separated: any layer but the loss (conv, fc, pool, lrn, "
                 "...), shown through the ReLU that follows it (default: every conv layer)")
      ->delimiter(',');
  app.add_option("--features-per-layer", o.per_layer, "random features shown per layer (default 8)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed for choosing the features (default 1)");
  app.add_option("--limit", o.limit, "search only the first N images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", o.batch, "images per forward pass (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--out", o.out, "output folder (default ./evolve)");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    run_evolve(o);
    return 0;
  } catch (const std::exception& e) {
    report_error("zf_evolve", e);
    return 1;
  }
}
