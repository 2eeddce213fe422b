// The training run's state in a checkpoint file (see train_state.h).
#include "train/train_state.h"

#include <cmath>

namespace zf {

using namespace h5;

namespace {

const char* kColumns[] = {"epoch",    "lr",       "train_loss", "train_top1",
                          "val_loss", "val_top1", "val_top5",   "seconds"};
double* column(EpochMetrics& m, int c) {
  double* cols[] = {nullptr,     &m.lr,       &m.train_loss, &m.train_top1,
                    &m.val_loss, &m.val_top1, &m.val_top5,   &m.seconds};
  return cols[c];
}

void write_state(hid_t f, const TrainState& s) {
  H5Handle st(make_group(f, "state"), H5Gclose);
  write_attr_i64(st, "seed", static_cast<int64_t>(s.seed));
  write_attr_f64(st, "lr", s.lr);
  write_attr_i64(st, "position", s.position);
  write_attr_f64(st, "best_metric", s.best_metric);
  write_attr_i64(st, "plateau_count", s.plateau_count);
  write_attr_f64(st, "run_loss", s.run_loss);
  write_attr_i64(st, "run_correct", s.run_correct);
  write_attr_i64(st, "run_seen", s.run_seen);
  if (s.ranks > 1) write_attr_i64(st, "ranks", s.ranks);  // a one-process file stays as it was
}

void read_state(hid_t f, const std::string& path, TrainState& s) {
  H5Handle st(H5Gopen2(f, "state", H5P_DEFAULT), H5Gclose);
  ZF_CHECK(st >= 0, "%s: missing /state", path.c_str());
  s.seed = static_cast<uint64_t>(read_attr_i64(st, "seed", path));
  s.lr = read_attr_f64(st, "lr", path);
  s.position = read_attr_i64(st, "position", path);
  s.best_metric = read_attr_f64(st, "best_metric", path);
  const int64_t plateau = read_attr_i64(st, "plateau_count", path);
  ZF_CHECK(plateau >= 0 && plateau <= kMaxEpoch, "%s: /state attribute plateau_count = %lld",
           path.c_str(), static_cast<long long>(plateau));
  s.plateau_count = static_cast<int>(plateau);
  ZF_CHECK(s.position >= 0, "%s: /state attribute position = %lld", path.c_str(),
           static_cast<long long>(s.position));
  s.run_loss = read_attr_f64(st, "run_loss", path);
  s.run_correct = read_attr_i64(st, "run_correct", path);
  s.run_seen = read_attr_i64(st, "run_seen", path);
  s.ranks = has_attr(st, "ranks") ? static_cast<int>(read_attr_i64(st, "ranks", path)) : 1;
}

void write_data(hid_t f, const TrainState& s) {
  const Normalizer& n = s.norm;
  if (n.mean.empty() && s.classes.empty() && s.imported_from.empty()) return;
  H5Handle dg(make_group(f, "data"), H5Gclose);
  if (!s.classes.empty()) write_strings(dg, "classes", s.classes);
  if (!s.imported_from.empty()) write_attr_str(dg, "imported_from", s.imported_from);
  if (n.mean.empty()) return;
  Tensor mean(Shape{n.c, n.h, n.w}), inv(Shape{static_cast<int64_t>(n.inv_std.size())});
  ZF_CHECK(mean.numel() == static_cast<int64_t>(n.mean.size()), "data mean of %zu values for %s",
           n.mean.size(), mean.shape().str().c_str());
  std::copy(n.mean.begin(), n.mean.end(), mean.f32());
  std::copy(n.inv_std.begin(), n.inv_std.end(), inv.f32());
  write_f32(dg, "mean", mean);
  write_f32(dg, "inv_std", inv);
  write_attr_f64(dg, "scale", n.scale);
}

void read_data(hid_t f, const std::string& path, TrainState& s) {
  Normalizer& n = s.norm;
  if (H5Lexists(f, "data", H5P_DEFAULT) <= 0) return;
  H5Handle dg(H5Gopen2(f, "data", H5P_DEFAULT), H5Gclose);
  ZF_CHECK(dg >= 0, "%s: /data is not a group", path.c_str());
  if (H5Lexists(dg, "classes", H5P_DEFAULT) > 0) s.classes = read_strings(dg, "classes", path);
  if (has_attr(dg, "imported_from")) s.imported_from = read_attr_str(dg, "imported_from", path);
  if (H5Lexists(dg, "mean", H5P_DEFAULT) <= 0) return;
  // [C, H, W] of the padded input: each side bounded, so the products below fit an int.
  std::vector<hsize_t> dims;
  n.mean = read_vector<float>(f, "data/mean", H5T_NATIVE_FLOAT, path, &dims,
                              Expect{{-1, -1, -1}, size_t{1} << 26});
  for (int i = 0; i < 3; ++i)
    ZF_CHECK(dims[i] >= 1 && dims[i] <= (1 << 16), "%s: /data/mean has a side of %llu",
             path.c_str(), static_cast<unsigned long long>(dims[i]));
  n.c = static_cast<int>(dims[0]), n.h = static_cast<int>(dims[1]), n.w = static_cast<int>(dims[2]);
  // One value per channel: the loader and the visualization index it by channel.
  n.inv_std = read_vector<float>(f, "data/inv_std", H5T_NATIVE_FLOAT, path, nullptr, Expect{{n.c}});
  n.scale = static_cast<float>(read_attr_f64(dg, "scale", path));
}

void write_metrics(hid_t f, const std::vector<EpochMetrics>& ms) {
  H5Handle mg(make_group(f, "metrics"), H5Gclose);
  for (int c = 0; c < 8; ++c) {
    std::vector<double> v;
    for (EpochMetrics m : ms) v.push_back(c == 0 ? m.epoch : *column(m, c));
    write_array(mg, kColumns[c], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {v.size()}, v.data());
  }
}

void read_metrics(hid_t f, const std::string& path, std::vector<EpochMetrics>& ms) {
  H5Handle mg(H5Gopen2(f, "metrics", H5P_DEFAULT), H5Gclose);
  ZF_CHECK(mg >= 0, "%s: missing /metrics", path.c_str());
  // One row per finished epoch: every column as long as the epoch column, and that bounded.
  std::vector<std::vector<double>> cols;
  for (const char* c : kColumns) {
    const size_t rows = cols.empty() ? static_cast<size_t>(kMaxEpoch) : cols[0].size();
    cols.push_back(
        read_vector<double>(f, std::string("metrics/") + c, H5T_NATIVE_DOUBLE, path, nullptr,
                            Expect{{cols.empty() ? -1 : static_cast<int64_t>(rows)}, rows}));
  }
  for (size_t i = 0; i < cols[0].size(); ++i) {
    EpochMetrics e;
    // A double outside int's range (or NaN) cast to int is undefined behaviour.
    const double epoch = cols[0][i];
    ZF_CHECK(std::isfinite(epoch) && epoch >= 0 && epoch <= kMaxEpoch && epoch == std::floor(epoch),
             "%s: /metrics/epoch[%zu] = %g (expected a whole number of epochs 0..%d)", path.c_str(),
             i, epoch, kMaxEpoch);
    e.epoch = static_cast<int>(epoch);
    for (int c = 1; c < 8; ++c) *column(e, c) = cols[c][i];
    ms.push_back(e);
  }
}

RunCheckpoint from_header(const CheckpointHeader& h, TrainState s) {
  s.epoch = h.epoch;
  s.iteration = h.iteration;
  return RunCheckpoint{h.arch, h.config, std::move(s)};
}

}  // namespace

void save_run_checkpoint(const std::string& path, Net& net, const std::string& config,
                         const TrainState& s) {
  const CheckpointHeader h{s.epoch, s.iteration, net.arch(), config};
  save_checkpoint(path, net, h, [&](hid_t f) {
    write_state(f, s);
    write_data(f, s);
    write_metrics(f, s.metrics);
  });
}

RunCheckpoint read_run_checkpoint(const std::string& path) {
  TrainState s;
  const CheckpointHeader h = read_checkpoint(path, [&](hid_t f) {
    read_state(f, path, s);
    read_data(f, path, s);
    read_metrics(f, path, s.metrics);
  });
  return from_header(h, std::move(s));
}

RunCheckpoint load_run_checkpoint(const std::string& path, Net& net) {
  TrainState s;
  const CheckpointHeader h = load_checkpoint(path, net, [&](hid_t f) {
    read_state(f, path, s);
    read_data(f, path, s);
    read_metrics(f, path, s.metrics);
  });
  return from_header(h, std::move(s));
}

}  // namespace zf
