// zf_project: mines each feature layer's top-k activations over a data set, projects each one
// alone to pixel space with the deconvnet, and writes <out>/<layer>.h5 (DESIGN section 5) and
// <out>/<layer>.png (the paper's Fig. 2). With --image, it dumps the activations of given images
// and the full-size projections of their strongest features instead. Options only; the work is
// run_project (visualize/project_run.h).
#include "train/cli.h"
#include "visualize/project_run.h"

using namespace zf;

int main(int argc, char** argv) {
  ProjectRunOptions o;
  CLI::App app{
      "mine each layer's top-k activations over a data set, project them to pixel space with "
      "the deconvnet, and write <out>/<layer>.h5 and <out>/<layer>.png (Zeiler & Fergus Fig. 2)"};
  app.name("zf_project");
  app.add_option("--checkpoint", o.checkpoint, "checkpoint (.h5) written by zf_train")->required();
  app.add_option("--config", o.config, "YAML config (default: the one stored in the checkpoint)");
  auto* data =
      app.add_option("--data", o.data,
                     "data set to mine, read with the config's data format (default: the config's "
                     "validation set, else its training set)");
  app.add_option("--image", o.images,
                 "image file(s) instead of a data set: dump their activations and the "
                 "full-size projections of their strongest features")
      ->excludes(data);
  app.add_option("--layers", o.layers,
                 "layers to show, comma-separated: any layer but the loss (conv, fc, pool, lrn, "
                 "...), shown through the ReLU that follows it (default: every conv layer)")
      ->delimiter(',');
  app.add_option("--k", o.k, "activations kept per feature (default 9)")->check(IntRange(1, 100));
  app.add_option("--features", o.features, "feature ids, comma-separated, or 'all' (default all)");
  app.add_option("--show", o.show,
                 "features drawn in each montage, evenly spread over the selection (default 16)")
      ->check(CLI::PositiveNumber);
  app.add_option("--top", o.top, "--image mode: strongest features projected per layer (default 9)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rule", o.rule, "how signals cross a ReLU: deconv (the paper), guided, backprop")
      ->check(CLI::IsMember({"deconv", "guided", "backprop"}));
  app.add_flag("--through-lrn", o.through_lrn,
               "apply LRN's backward on the way down (default: skip LRN)");
  app.add_option("--limit", o.limit, "mine only the first N images of the data set (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", o.batch, "images per forward pass (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--out", o.out, "output folder (default ./project)");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    run_project(o);
    return 0;
  } catch (const std::exception& e) {
    report_error("zf_project", e);
    return 1;
  }
}
