// HDF5 checkpoint I/O through the HDF5 C API. Every failure becomes one zf::Error naming the file
// and the object at fault; HDF5's own error stack printing is switched off.
#include "core/io/checkpoint.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/io/h5io.h"

namespace zf {

using namespace h5;

namespace {

// Reads dataset `name` into `t` (already shaped like the net's tensor); shape must match exactly.
void read_f32(hid_t parent, const std::string& name, Tensor& t, const std::string& file) {
  ZF_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0,
           "%s: missing %s (another architecture?)", file.c_str(), name.c_str());
  H5Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  ZF_CHECK(d >= 0, "%s: cannot open %s", file.c_str(), name.c_str());
  // The net's shape is the expectation: nothing is allocated from what the file declares.
  Expect want;
  for (int i = 0; i < t.ndim(); ++i) want.dims.push_back(t.dim(i));
  try {
    dataset_dims(d, name, file, want);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (another architecture?)");
  }
  Tensor host(t.shape());
  ZF_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.f32()) >= 0,
           "%s: cannot read %s", file.c_str(), name.c_str());
  // NaN weights are not caught later: ReLU turns NaN into 0, the loss stays finite and training
  // or visualization goes on with garbage.
  const float* v = host.f32();
  for (int64_t i = 0; i < host.numel(); ++i)
    ZF_CHECK(std::isfinite(v[i]), "%s: %s holds %s at element %lld (a diverged run?)", file.c_str(),
             name.c_str(), std::isnan(v[i]) ? "NaN" : "Inf", static_cast<long long>(i));
  t.copy_from(host);
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

void write_header_and_params(hid_t f, Net& net, const CheckpointHeader& h) {
  write_attr_str(f, "format", "zfnet-checkpoint");
  write_attr_i64(f, "version", 1);
  write_attr_i64(f, "epoch", h.epoch);
  write_attr_i64(f, "iteration", h.iteration);
  write_attr_str(f, "arch", h.arch);
  write_attr_str(f, "config", h.config);
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

CheckpointHeader read_header(hid_t f, const std::string& path) {
  ZF_CHECK(has_attr(f, "format") && read_attr_str(f, "format", path) == "zfnet-checkpoint",
           "%s: not a zfnet checkpoint (no format=\"zfnet-checkpoint\" attribute)", path.c_str());
  int64_t version = read_attr_i64(f, "version", path);
  ZF_CHECK(version == 1, "%s: checkpoint version %lld (this build reads 1)", path.c_str(),
           static_cast<long long>(version));
  CheckpointHeader h;
  const int64_t epoch = read_attr_i64(f, "epoch", path);
  ZF_CHECK(epoch >= 0 && epoch <= kMaxEpoch, "%s: attribute epoch = %lld (expected 0..%d)",
           path.c_str(), static_cast<long long>(epoch), kMaxEpoch);
  h.epoch = static_cast<int>(epoch);
  h.iteration = read_attr_i64(f, "iteration", path);
  ZF_CHECK(h.iteration >= 0, "%s: attribute iteration = %lld (expected >= 0)", path.c_str(),
           static_cast<long long>(h.iteration));
  h.arch = read_attr_str(f, "arch", path);
  h.config = read_attr_str(f, "config", path);
  return h;
}

void read_params(hid_t f, const std::string& path, Net& net) {
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
}

}  // namespace

void write_f32(hid_t parent, const std::string& name, const Tensor& t) {
  Tensor host = t.to(Device::CPU);
  std::vector<hsize_t> dims;
  for (int i = 0; i < t.ndim(); ++i) dims.push_back(static_cast<hsize_t>(t.dim(i)));
  write_array(parent, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, host.f32());
}

void save_checkpoint(const std::string& path, Net& net, const CheckpointHeader& h,
                     const std::function<void(hid_t)>& extra) {
  try {
    write_file_atomically(path, [&](hid_t f) {
      write_header_and_params(f, net, h);
      if (extra) extra(f);
    });
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

CheckpointHeader read_checkpoint(const std::string& path, const std::function<void(hid_t)>& read) {
  H5Handle f(open_for_read(path), H5Fclose);
  CheckpointHeader h = read_header(f, path);
  if (read) read(f);
  return h;
}

int64_t load_params_by_name(const std::string& path, Net& net,
                            const std::vector<std::string>& skip) {
  H5Handle f(open_for_read(path), H5Fclose);
  read_header(f, path);
  int64_t loaded = 0;
  for (auto& np : net.params()) {
    if (std::find(skip.begin(), skip.end(), np.layer) != skip.end()) continue;
    Param& p = *np.param;
    const std::string name = "params/" + np.layer + "/" + p.name;
    ZF_CHECK(H5Lexists(f, "params", H5P_DEFAULT) > 0 &&
                 H5Lexists(f, ("params/" + np.layer).c_str(), H5P_DEFAULT) > 0,
             "%s: no layer '%s' with parameters (name it in the layers to re-initialize?)",
             path.c_str(), np.layer.c_str());
    try {
      read_f32(f, name, p.value, path);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + "; layer '" + np.layer +
                  "' can be re-initialized instead of loaded");
    }
    loaded += p.value.numel();
  }
  return loaded;
}

CheckpointHeader load_checkpoint(const std::string& path, Net& net,
                                 const std::function<void(hid_t)>& read) {
  H5Handle f(open_for_read(path), H5Fclose);
  CheckpointHeader h = read_header(f, path);
  check_same_arch(path, h.arch, net.arch());
  read_params(f, path, net);
  if (read) read(f);
  return h;
}

}  // namespace zf
