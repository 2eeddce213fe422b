// zf_import --weights W.safetensors --config NET.yaml [--map MAP.yaml] --out C.h5: weights trained
// elsewhere into a zfnet checkpoint (see train/import.h and README.md, "zf_import").
// Exit codes: 0 written, 1 error (one line naming the tensor, parameter or field), 2 bad command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "train/cli.h"
#include "train/import.h"

int main(int argc, char** argv) {
  zf::ImportOptions o;
  CLI::App app{
      "import weights trained elsewhere (a safetensors file: scripts/export_torch.py makes one from "
      "a PyTorch state dict) into a zfnet checkpoint for the net a config describes, usable by "
      "zf_project, zf_evolve, zf_analyze, zf_predict and zf_train --init-from"};
  app.add_option("--weights", o.weights, "safetensors file")->required()->check(CLI::ExistingFile);
  app.add_option("--config", o.config, "YAML config describing the net (e.g. "
                                       "configs/alexnet_torchvision.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--map", o.map,
                 "name map (YAML: <layer>.<weight|bias>: <tensor>, e.g. conv1.weight: "
                 "features.0.weight); default: each parameter takes the tensor of its own name")
      ->check(CLI::ExistingFile);
  app.add_option("--out", o.out, "checkpoint to write (.h5)")->required();
  auto* mean = app.add_option("--mean", o.mean,
                              "per-channel mean of [0,1] pixels the weights were trained with "
                              "(PyTorch's Normalize; ImageNet: 0.485,0.456,0.406); default 0")
                   ->delimiter(',');
  app.add_option("--std", o.std,
                 "per-channel std of [0,1] pixels (ImageNet: 0.229,0.224,0.225); default 1")
      ->delimiter(',');
  app.add_option("--pixel-mean", o.pixel_mean,
                 "a safetensors file with one [C,H,W] mean image in pixel units 0..255 (Caffe "
                 "style), of the config's padded image size; instead of --mean")
      ->check(CLI::ExistingFile)
      ->excludes(mean);
  app.add_option("--scale", o.scale, "multiplies the normalized input (default 1)");
  app.add_option("--classes", o.classes,
                 "class names, one per line, as many as the net's outputs (stored for zf_predict "
                 "and the figures)")
      ->check(CLI::ExistingFile);
  app.add_flag("--allow-unused", o.allow_unused,
               "import even when tensors of the file are left over (each is named on stderr)");
  app.name("zf_import");
  if (int rc = zf::parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    const zf::ImportResult r = zf::import_weights(o);
    for (const std::string& u : r.unused)
      std::fprintf(stderr, "zf_import: warning: tensor '%s' of %s left unused\n", u.c_str(),
                   o.weights.c_str());
    std::printf("zf_import: %d tensors, %lld values from %s -> %s\n", r.tensors,
                static_cast<long long>(r.values), o.weights.c_str(), o.out.c_str());
    return 0;
  } catch (const std::exception& e) {
    zf::report_error("zf_import", e);
    return 1;
  }
}
