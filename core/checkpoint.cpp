// HDF5 checkpoint I/O through the HDF5 C API. Every failure becomes one zf::Error naming the file
// and the object at fault; HDF5's own error stack printing is switched off.
#include "core/checkpoint.h"

#include <hdf5.h>

#include <cstdio>

#include "core/h5io.h"

namespace zf {

using namespace h5;

namespace {

void write_f32(hid_t parent, const std::string& name, const Tensor& t) {
  Tensor host = t.to(Device::CPU);
  std::vector<hsize_t> dims;
  for (int i = 0; i < t.ndim(); ++i) dims.push_back(static_cast<hsize_t>(t.dim(i)));
  write_array(parent, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, host.f32());
}

void write_f64_column(hid_t parent, const char* name, const std::vector<double>& v) {
  write_array(parent, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {v.size()}, v.data());
}

std::vector<double> read_f64_column(hid_t parent, const char* name, const std::string& file) {
  H5Handle d(H5Dopen2(parent, name, H5P_DEFAULT), H5Dclose);
  ZF_CHECK(d >= 0, "%s: missing metrics/%s", file.c_str(), name);
  H5Handle sp(H5Dget_space(d), H5Sclose);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  std::vector<double> v(static_cast<size_t>(n > 0 ? n : 0));
  if (n > 0)
    ZF_CHECK(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0,
             "%s: cannot read metrics/%s", file.c_str(), name);
  return v;
}

// Reads dataset `name` into `t` (already shaped like the net's tensor); shape must match exactly.
void read_f32(hid_t parent, const std::string& name, Tensor& t, const std::string& file) {
  ZF_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0,
           "%s: missing %s (another architecture?)", file.c_str(), name.c_str());
  H5Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Handle sp(H5Dget_space(d), H5Sclose);
  int nd = H5Sget_simple_extent_ndims(sp);
  hsize_t dims[8] = {};
  ZF_CHECK(nd >= 1 && nd <= 4, "%s: %s has %d dimensions", file.c_str(), name.c_str(), nd);
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  Shape s;
  for (int i = 0; i < nd; ++i) s.d[s.ndim++] = static_cast<int64_t>(dims[i]);
  ZF_CHECK(s == t.shape(), "%s: %s is %s but the net expects %s (another architecture?)",
           file.c_str(), name.c_str(), s.str().c_str(), t.shape().str().c_str());
  Tensor host(s);
  ZF_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.f32()) >= 0,
           "%s: cannot read %s", file.c_str(), name.c_str());
  t.copy_from(host);
}

const char* kColumns[] = {"epoch",    "lr",       "train_loss", "train_top1",
                          "val_loss", "val_top1", "val_top5",   "seconds"};
double* column(EpochMetrics& m, int c) {
  double* cols[] = {nullptr,     &m.lr,       &m.train_loss, &m.train_top1,
                    &m.val_loss, &m.val_top1, &m.val_top5,   &m.seconds};
  return cols[c];
}

void write_file(hid_t f, Net& net, const CheckpointMeta& meta) {
  write_attr_str(f, "format", "zfnet-checkpoint");
  write_attr_i64(f, "version", 1);
  write_attr_i64(f, "epoch", meta.epoch);
  write_attr_i64(f, "iteration", meta.iteration);
  write_attr_str(f, "arch", meta.arch);
  write_attr_str(f, "config", meta.config);
  {
    H5Handle params(make_group(f, "params"), H5Gclose), optim(make_group(f, "optim"), H5Gclose);
    std::string last;
    hid_t pg = -1, og = -1;
    for (auto& np : net.params()) {
      if (np.layer != last) {
        if (pg >= 0) H5Gclose(pg), H5Gclose(og);
        pg = make_group(params, np.layer);
        og = make_group(optim, np.layer);
        last = np.layer;
      }
      write_f32(pg, np.param->name, np.param->value);
      if (!np.param->momentum.empty())
        write_f32(og, np.param->name + "_momentum", np.param->momentum);
    }
    if (pg >= 0) H5Gclose(pg), H5Gclose(og);
  }
  {
    H5Handle st(make_group(f, "state"), H5Gclose);
    write_attr_i64(st, "seed", static_cast<int64_t>(meta.seed));
    write_attr_f64(st, "lr", meta.lr);
    write_attr_i64(st, "position", meta.position);
    write_attr_f64(st, "best_metric", meta.best_metric);
    write_attr_i64(st, "plateau_count", meta.plateau_count);
    write_attr_f64(st, "run_loss", meta.run_loss);
    write_attr_i64(st, "run_correct", meta.run_correct);
    write_attr_i64(st, "run_seen", meta.run_seen);
  }
  if (!meta.data_mean.empty()) {
    H5Handle dg(make_group(f, "data"), H5Gclose);
    Tensor mean(meta.data_mean_shape), inv(Shape{static_cast<int64_t>(meta.data_inv_std.size())});
    ZF_CHECK(mean.numel() == static_cast<int64_t>(meta.data_mean.size()),
             "data mean of %zu values for %s", meta.data_mean.size(),
             meta.data_mean_shape.str().c_str());
    std::copy(meta.data_mean.begin(), meta.data_mean.end(), mean.f32());
    std::copy(meta.data_inv_std.begin(), meta.data_inv_std.end(), inv.f32());
    write_f32(dg, "mean", mean);
    write_f32(dg, "inv_std", inv);
    write_attr_f64(dg, "scale", meta.data_scale);
  }
  {
    H5Handle mg(make_group(f, "metrics"), H5Gclose);
    for (int c = 0; c < 8; ++c) {
      std::vector<double> v;
      for (EpochMetrics m : meta.metrics) v.push_back(c == 0 ? m.epoch : *column(m, c));
      write_f64_column(mg, kColumns[c], v);
    }
  }
}

CheckpointMeta read_meta(hid_t f, const std::string& path) {
  ZF_CHECK(has_attr(f, "format") && read_attr_str(f, "format", path) == "zfnet-checkpoint",
           "%s: not a zfnet checkpoint (no format=\"zfnet-checkpoint\" attribute)", path.c_str());
  int64_t version = read_attr_i64(f, "version", path);
  ZF_CHECK(version == 1, "%s: checkpoint version %lld (this build reads 1)", path.c_str(),
           static_cast<long long>(version));
  CheckpointMeta m;
  m.epoch = static_cast<int>(read_attr_i64(f, "epoch", path));
  m.iteration = read_attr_i64(f, "iteration", path);
  m.arch = read_attr_str(f, "arch", path);
  m.config = read_attr_str(f, "config", path);
  H5Handle st(H5Gopen2(f, "state", H5P_DEFAULT), H5Gclose);
  ZF_CHECK(st >= 0, "%s: missing /state", path.c_str());
  m.seed = static_cast<uint64_t>(read_attr_i64(st, "seed", path));
  m.lr = read_attr_f64(st, "lr", path);
  m.position = read_attr_i64(st, "position", path);
  m.best_metric = read_attr_f64(st, "best_metric", path);
  m.plateau_count = static_cast<int>(read_attr_i64(st, "plateau_count", path));
  m.run_loss = read_attr_f64(st, "run_loss", path);
  m.run_correct = read_attr_i64(st, "run_correct", path);
  m.run_seen = read_attr_i64(st, "run_seen", path);
  if (H5Lexists(f, "data", H5P_DEFAULT) > 0) {
    H5Handle dg(H5Gopen2(f, "data", H5P_DEFAULT), H5Gclose);
    for (const char* name : {"mean", "inv_std"}) {
      H5Handle d(H5Dopen2(dg, name, H5P_DEFAULT), H5Dclose);
      H5Handle sp(H5Dget_space(d), H5Sclose);
      hsize_t dims[4] = {};
      const int nd = H5Sget_simple_extent_ndims(sp);
      ZF_CHECK(nd >= 1 && nd <= 4, "%s: /data/%s has %d dimensions", path.c_str(), name, nd);
      H5Sget_simple_extent_dims(sp, dims, nullptr);
      Shape s;
      for (int i = 0; i < nd; ++i) s.d[s.ndim++] = static_cast<int64_t>(dims[i]);
      std::vector<float>& v = name[0] == 'm' ? m.data_mean : m.data_inv_std;
      v.resize(static_cast<size_t>(s.numel()));
      ZF_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0,
               "%s: cannot read /data/%s", path.c_str(), name);
      if (name[0] == 'm') m.data_mean_shape = s;
    }
    m.data_scale = static_cast<float>(read_attr_f64(dg, "scale", path));
  }
  H5Handle mg(H5Gopen2(f, "metrics", H5P_DEFAULT), H5Gclose);
  ZF_CHECK(mg >= 0, "%s: missing /metrics", path.c_str());
  std::vector<std::vector<double>> cols;
  for (const char* c : kColumns) cols.push_back(read_f64_column(mg, c, path));
  for (size_t i = 0; i < cols[0].size(); ++i) {
    EpochMetrics e;
    e.epoch = static_cast<int>(cols[0][i]);
    for (int c = 1; c < 8; ++c) {
      ZF_CHECK(cols[c].size() == cols[0].size(), "%s: metrics columns differ in length",
               path.c_str());
      *column(e, c) = cols[c][i];
    }
    m.metrics.push_back(e);
  }
  return m;
}

hid_t open_for_read(const std::string& path) {
  quiet_hdf5();
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  ZF_CHECK(probe, "%s: cannot open checkpoint (no such file or not readable)", path.c_str());
  std::fclose(probe);
  ZF_CHECK(H5Fis_hdf5(path.c_str()) > 0, "%s: not an HDF5 file (truncated or corrupt?)",
           path.c_str());
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ZF_CHECK(f >= 0, "%s: cannot open as HDF5 (truncated or corrupt?)", path.c_str());
  return f;
}

// One line naming the first layer where the two architectures differ.
void check_same_arch(const std::string& path, const std::string& saved, const std::string& ours) {
  if (saved == ours) return;
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    size_t b = 0;
    for (size_t e; (e = s.find('\n', b)) != std::string::npos; b = e + 1)
      v.push_back(s.substr(b, e - b));
    if (b < s.size()) v.push_back(s.substr(b));
    return v;
  };
  std::vector<std::string> a = lines(saved), b = lines(ours);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  ZF_THROW("%s: checkpoint of another architecture: layer %zu is '%s' there but '%s' in this net",
           path.c_str(), i, i < a.size() ? a[i].c_str() : "(none)",
           i < b.size() ? b[i].c_str() : "(none)");
}

}  // namespace

void save_checkpoint(const std::string& path, Net& net, const CheckpointMeta& meta) {
  try {
    write_file_atomically(path, [&](hid_t f) { write_file(f, net, meta); });
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  H5Handle f(open_for_read(path), H5Fclose);
  return read_meta(f, path);
}

CheckpointMeta load_checkpoint(const std::string& path, Net& net) {
  H5Handle f(open_for_read(path), H5Fclose);
  CheckpointMeta m = read_meta(f, path);
  check_same_arch(path, m.arch, net.arch());
  for (auto& np : net.params()) {
    Param& p = *np.param;
    read_f32(f, "params/" + np.layer + "/" + p.name, p.value, path);
    const std::string mom = "optim/" + np.layer + "/" + p.name + "_momentum";
    if (p.momentum.shape() != p.value.shape())
      p.momentum = Tensor::zeros(p.value.shape(), p.value.device());
    if (H5Lexists(f, "optim", H5P_DEFAULT) > 0 &&
        H5Lexists(f, ("optim/" + np.layer).c_str(), H5P_DEFAULT) > 0 &&
        H5Lexists(f, mom.c_str(), H5P_DEFAULT) > 0)
      read_f32(f, mom, p.momentum, path);
  }
  return m;
}

}  // namespace zf
