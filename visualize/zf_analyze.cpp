// zf_analyze: the paper's analyses of a trained net (../shared/ANALYSES.md), one subcommand each:
// occlusion (Fig. 7), invariance (Fig. 5), correspondence (Table 1, Fig. 8), filters (Fig. 6).
// Options only; the work is visualize/analyses/<analysis>.cpp.
#include "train/cli.h"
#include "visualize/analyses/correspondence.h"
#include "visualize/analyses/filters.h"
#include "visualize/analyses/invariance.h"
#include "visualize/analyses/occlusion.h"

using namespace zf;

namespace {

void common_options(CLI::App* app, AnalysisCommon& c) {
  app->add_option("--checkpoint", c.checkpoint, "checkpoint (.h5) written by zf_train")->required();
  app->add_option("--config", c.config, "YAML config (default: the one stored in the checkpoint)");
  app->add_option("--classes", c.classes,
                  "class names, one per line (default: the data set's, else numbers)");
  app->add_option("--batch", c.batch, "images per forward pass (default 64)")
      ->check(IntRange(1, 4096));
  app->add_option("--device", c.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app->add_option("--out", c.out, "output folder (default ./analyze)");
}

void image_options(CLI::App* app, ImageSelection& s) {
  app->add_option("--image", s.files, "image file(s) (JPEG or PNG)");
  app->add_option("--label", s.labels,
                  "true class of each --image (one per image, or one for all; default: the "
                  "unoccluded prediction, said so)")
      ->delimiter(',')
      ->check(IntRange(0, 1 << 30));
  app->add_option("--samples", s.samples,
                  "data-set indices, comma-separated: images with their labels from --data")
      ->delimiter(',')
      ->check(IntRange(0, INT64_MAX));
  app->add_option("--data", s.data,
                  "data set of --samples, read with the config's data format (default: the "
                  "config's validation set)");
}

void occlusion_command(CLI::App& app, OcclusionOptions& o) {
  CLI::App* c = app.add_subcommand(
      "occlusion",
      "slide a grey square over each image: the strongest map's activity, P(true class) and the "
      "top class at every position, and the map's projections (Fig. 7)");
  common_options(c, o.common);
  image_options(c, o.images);
  c->add_option("--size", o.size, "square side in input pixels (default: 1/5 of the side)")
      ->check(IntRange(1, 1 << 16));
  c->add_option("--stride", o.stride, "step between positions (default: 8 px at 224)")
      ->check(IntRange(1, 1 << 16));
  c->add_option("--fill", o.fill,
                "what the square holds: mean (the data mean: 0 after normalization, the "
                "default) or a pixel value 0..255");
  c->add_option("--layer", o.layer, "layer of the map (default: the last conv layer)");
  c->add_option("--strongest", o.strongest,
                "the map of the unoccluded image with the largest maximum (max, default) or sum")
      ->check(CLI::IsMember({"max", "sum"}));
  c->add_option("--others", o.others, "projections of the map in K other images (default 3)")
      ->check(IntRange(0, 16));
  c->add_option("--others-data", o.others_data,
                "data set the other images are mined from (default: the config's validation set; "
                "where it cannot be opened, the other images given)");
  c->add_option("--others-limit", o.others_limit, "images mined for the others (default 2000)")
      ->check(IntRange(1, INT64_MAX));
  c->add_option("--method", o.method,
                "incremental (recompute only what the square changes, default) or full")
      ->check(CLI::IsMember({"incremental", "full"}));
}

void invariance_command(CLI::App& app, InvarianceOptions& o) {
  CLI::App* c = app.add_subcommand(
      "invariance",
      "translate, scale and rotate each image: feature distances at two layers and P(true "
      "class) against the amount (Fig. 5)");
  common_options(c, o.common);
  image_options(c, o.images);
  c->add_option("--transform", o.transforms, "translate,scale,rotate (default all three)")
      ->delimiter(',')
      ->check(CLI::IsMember({"translate", "scale", "rotate"}));
  c->add_option("--range", o.ranges,
                "NAME=LO:HI per transform: translate in input pixels (vertical, + moves the "
                "content down), scale as a ratio (> 1 zooms in), rotate in degrees "
                "counter-clockwise (default translate=-60:60 px at 224, scaled to the input "
                "side, scale=1:1.8, rotate=0:350)")
      ->delimiter(',');
  c->add_option("--steps", o.steps,
                "NAME=STEP per transform (default translate=1 px at 224, scaled to the input "
                "side, scale=0.02, rotate=5)")
      ->delimiter(',');
  c->add_option("--layers", o.layers,
                "layers compared (default: the first conv layer and the last fc before the "
                "classifier)")
      ->delimiter(',');
}

void correspondence_command(CLI::App& app, CorrespondenceOptions& o) {
  CLI::App* c = app.add_subcommand(
      "correspondence",
      "mask the same part in several images: how consistently each layer encodes it (Table 1) "
      "and the masked images (Fig. 8)");
  common_options(c, o.common);
  c->add_option("--parts", o.parts,
                "parts file (JSON): {\"images\": [{\"file\": F, \"label\": optional class, "
                "\"object\": [x,y,w,h], \"parts\": {\"left_eye\": [x,y,w,h], ...}}, ...]}, "
                "boxes in pixels of the file as decoded, files relative to the JSON's folder "
                "($SKIMAGE/ = python3-skimage's photos); e.g. configs/parts/skimage_faces.json")
      ->required();
  c->add_option("--random", o.random,
                "random boxes per part and image, of the part's size inside the object box "
                "(default 10; 0: no random row)")
      ->check(IntRange(0, 1000));
  c->add_option("--seed", o.seed, "seed of the random boxes (default 1)");
  c->add_option("--layers", o.layers,
                "layers compared (default: the last conv layer and the last fc before the "
                "classifier)")
      ->delimiter(',');
  c->add_option("--fill", o.fill,
                "what a mask holds: mean (the data mean: 0 after normalization, the default) or a "
                "pixel value 0..255");
}

void filters_command(CLI::App& app, FiltersOptions& o) {
  CLI::App* c = app.add_subcommand(
      "filters",
      "a layer's filters for several checkpoints side by side, on a shared and a per-filter "
      "scale, with each filter's RMS and the dead ones counted (Fig. 6)");
  c->add_option("--checkpoints", o.checkpoints, "checkpoints (.h5), shown in this order")
      ->required();
  c->add_option("--layer", o.layer, "conv layer (default: the first)");
  c->add_option("--scale", o.scales, "shared, each, or both (default: shared,each)")
      ->delimiter(',')
      ->check(CLI::IsMember({"shared", "each"}));
  c->add_option("--dead", o.dead,
                "a filter is dead when its RMS is below this fraction of the layer's largest "
                "(default 0.01)")
      ->check(CLI::Range(0.0, 0.999999));
  c->add_option("--columns", o.columns, "filters per picture row (default 16)")
      ->check(IntRange(1, 4096));
  c->add_option("--out", o.out, "output folder (default ./analyze)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "the paper's analyses of a trained net: occlusion (Fig. 7), invariance (Fig. 5), "
      "correspondence (Table 1, Fig. 8), filters (Fig. 6)"};
  app.name("zf_analyze");
  app.require_subcommand(1);
  OcclusionOptions occ;
  InvarianceOptions inv;
  CorrespondenceOptions cor;
  FiltersOptions fil;
  occlusion_command(app, occ);
  invariance_command(app, inv);
  correspondence_command(app, cor);
  filters_command(app, fil);
  // CLI11 answers an unknown subcommand with "A subcommand is required": name it instead (the
  // program itself has no option but --help, so a first word without '-' is the analysis).
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == argv[1]; }).empty())
    return cli_fail(app, std::string("unknown analysis '") + argv[1] +
                             "' (occlusion, invariance, correspondence, filters)");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    if (app.got_subcommand("occlusion")) run_occlusion(occ);
    if (app.got_subcommand("invariance")) run_invariance(inv);
    if (app.got_subcommand("correspondence")) run_correspondence(cor);
    if (app.got_subcommand("filters")) run_filters(fil);
    return 0;
  } catch (const CliError& e) {
    return cli_fail(app, e.what());
  } catch (const std::exception& e) {
    report_error("zf_analyze", e);
    return 1;
  }
}
