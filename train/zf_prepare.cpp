// zf_prepare: packs an ILSVRC2012-style tree into HDF5 shards for zf_train (see train/prepare.h and
// docs/imagenet.md). --measure times decoding + augmentation of prepared shards instead.
#include <cstdio>
#include <thread>

#include "core/check.h"
#include "train/cli.h"
#include "train/prepare.h"
#include "train/progress.h"

int main(int argc, char** argv) {
  zf::PrepareOptions o;
  o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int measure = 0, crop = 224;
  CLI::App app{
      "pack an ImageNet-style tree (train/<wnid>/*.JPEG, a flat val/ folder and its labels) into "
      "HDF5 "
      "shards of size x size center crops, with the per-pixel mean image, for zf_train"};
  app.name("zf_prepare");
  auto* train =
      app.add_option("--train", o.train, "training folder: one subfolder per class (wnid)");
  auto* val = app.add_option("--val", o.val, "validation folder (flat)");
  auto* val_labels =
      app.add_option("--val-labels", o.val_labels,
                     "validation labels: lines '<file> <wnid>', or LOC_val_solution.csv "
                     "(ImageId,PredictionString)");
  app.add_option("--out", o.out,
                 "output folder: train-NNNNN.h5, val-NNNNN.h5, meta.h5, skipped.txt")
      ->required();
  val->needs(val_labels);
  val_labels->needs(val);
  app.add_option("--synsets", o.synsets,
                 "optional 'wnid name, ...' lines (LOC_synset_mapping.txt) for class names");
  app.add_option("--store", o.store, "jpeg (re-encoded, default) or raw (uint8 pixels)")
      ->check(CLI::IsMember({"jpeg", "raw"}));
  app.add_option("--size", o.size, "side of the stored square images (default 256)")
      ->check(zf::IntRange(8, 4096));
  app.add_option("--quality", o.quality, "JPEG quality (default 95)")->check(zf::IntRange(1, 100));
  app.add_option("--shard-size", o.shard_size, "images per shard (default 1024)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "decoding threads (default: all cores)")
      ->check(CLI::PositiveNumber);
  app.add_option("--limit", o.limit,
                 "take only N images per split, spread over the classes (trials)")
      ->check(CLI::NonNegativeNumber);
  auto* measure_opt =
      app.add_option("--measure", measure,
                     "instead: decode and augment N training samples of --out on one thread "
                     "and print samples/s per core")
          ->check(CLI::PositiveNumber);
  app.add_option("--crop", crop, "--measure: crop side (default 224)")->check(CLI::PositiveNumber);
  // --measure reads shards already in --out: a tree to pack alongside would be ignored.
  measure_opt->excludes(train)->excludes(val);
  if (int rc = zf::parse_cli(app, argc, argv); rc >= 0) return rc;
  if (measure == 0 && train->count() == 0)
    return zf::cli_fail(app, "--train is required (or --measure)");
  try {
    if (measure > 0) {
      const double rate = zf::measure_decode(o.out, measure, crop);
      std::printf("decode + crop %d + flip + mean subtraction: %.1f samples/s on one core\n", crop,
                  rate);
      return 0;
    }
    zf::PrepareReport r = zf::prepare(o);
    std::printf(
        "%lld training and %lld validation images in %s (%lld shards written, %lld kept from an "
        "earlier run), %.1f MB, %s; %zu skipped%s\n",
        static_cast<long long>(r.train_images), static_cast<long long>(r.val_images), o.out.c_str(),
        static_cast<long long>(r.shards_written), static_cast<long long>(r.shards_kept),
        r.bytes / 1e6, zf::Progress::duration(r.seconds).c_str(), r.skipped.size(),
        r.skipped.empty() ? "" : (" (listed in " + o.out + "/skipped.txt)").c_str());
    return 0;
  } catch (const std::exception& e) {
    zf::report_error("zf_prepare", e);
    return 1;
  }
}
