// zf_loader_bench CONFIG: the input pipeline alone (decode, crop, normalize; no net) on the config's
// validation (or training) set, for the evaluation views of data.eval_crops (or --views): every view
// from one decode of each image (Loader::Options::views, what evaluation does) against one loader
// pass per view (each decoding every image again). Prints images decoded per second and views made
// per second, the median of --reps runs of each.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "train/cli.h"
#include "train/config.h"
#include "train/loader.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One pass over the data set; returns the views made.
int64_t one_pass(const zf::Dataset& ds, const zf::DataConfig& dc, const zf::Normalizer& norm,
                 zf::Loader::Options o) {
  zf::Loader loader(ds, dc.transform, norm, o);
  int64_t rows = 0;
  while (const zf::Batch* b = loader.next()) rows += b->x.dim(0);
  return rows;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, split = "val";
  int views = 0, reps = 3, batch = 128, threads = 0;
  int64_t limit = 0;
  CLI::App app{"time the input pipeline's evaluation views: one decode per image vs one per view"};
  app.add_option("config", config, "YAML config (its data section)")->required();
  app.add_option("--split", split, "val | train")->check(CLI::IsMember({"val", "train"}));
  app.add_option("--views", views, "1 or 10 (default: data.eval_crops)")
      ->check(CLI::IsMember({1, 10}));
  app.add_option("--limit", limit, "use only the first N images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "rows per batch, as evaluation forms them")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "loader threads (default: data.threads)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "runs of each way (the median is printed)")
      ->check(CLI::PositiveNumber);
  app.name("zf_loader_bench");
  if (int rc = zf::parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    zf::Config cfg = zf::load_config(config);
    zf::DataConfig& dc = cfg.data;
    if (limit > 0) (split == "val" ? dc.limit_val : dc.limit_train) = limit;
    const int v = views ? views : dc.eval_crops;
    auto ds = zf::open_dataset(dc, split == "train");
    const zf::Normalizer norm = zf::make_normalizer(*ds, dc.transform);
    zf::Loader::Options o;
    o.train = false, o.drop_last = false, o.threads = threads ? threads : dc.threads;
    std::printf("%s (%s): %lld images %dx%dx%d, %d views of %d, %d loader threads\n",
                ds->source().c_str(), split.c_str(), static_cast<long long>(ds->size()),
                ds->channels(), ds->height(), ds->width(), v,
                dc.transform.crop ? dc.transform.crop : norm.h, o.threads);
    std::vector<double> once, per_view;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      zf::Loader::Options m = o;
      m.views = v, m.batch = std::max(1, batch / v);
      const int64_t rows = one_pass(*ds, dc, norm, m);
      once.push_back(seconds_since(t0));
      ZF_CHECK(rows == ds->size() * v, "one decode: %lld views", static_cast<long long>(rows));
      t0 = std::chrono::steady_clock::now();
      int64_t all = 0;
      for (int k = 0; k < v; ++k) {
        zf::Loader::Options s = o;
        s.batch = batch, s.view = v == 1 ? zf::kCenterView : k;
        all += one_pass(*ds, dc, norm, s);
      }
      per_view.push_back(seconds_since(t0));
      ZF_CHECK(all == ds->size() * v, "per view: %lld views", static_cast<long long>(all));
    }
    const double n = static_cast<double>(ds->size());
    const double a = median(once), b = median(per_view);
    std::printf("one decode per image : %7.3f s  %8.0f images/s  %8.0f views/s\n", a, n / a,
                n * v / a);
    std::printf("one decode per view  : %7.3f s  %8.0f images/s  %8.0f views/s  (%d decodes each)\n",
                b, n / b, n * v / b, v);
    std::printf("speed-up             : %.2fx\n", b / a);
    return 0;
  } catch (const std::exception& e) {
    zf::report_error("zf_loader_bench", e);
    return 1;
  }
}
