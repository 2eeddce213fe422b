// HDF5 helpers (see h5io.h).
#include "core/io/h5io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace zf::h5 {

namespace {
// Creation properties without modification times: HDF5 would otherwise write the clock into every
// group's and dataset's header, so that two runs writing the same data give different bytes.
H5Handle untimed(hid_t property_class) {
  hid_t p = H5Pcreate(property_class);
  ZF_CHECK(p >= 0, "cannot create HDF5 creation properties");
  H5Pset_obj_track_times(p, 0);
  return H5Handle(p, H5Pclose);
}
}  // namespace

void quiet_hdf5() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

void write_attr_i64(hid_t obj, const char* name, int64_t v) {
  H5Handle sp(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle a(H5Acreate2(obj, name, H5T_NATIVE_INT64, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  ZF_CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0, "cannot write attribute %s", name);
}

void write_attr_f64(hid_t obj, const char* name, double v) {
  H5Handle sp(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle a(H5Acreate2(obj, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  ZF_CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0, "cannot write attribute %s", name);
}

void write_attr_str(hid_t obj, const char* name, const std::string& v) {
  H5Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, v.empty() ? 1 : v.size());
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H5Handle sp(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle a(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  std::string buf = v.empty() ? std::string(1, '\0') : v;
  ZF_CHECK(a >= 0 && H5Awrite(a, t, buf.data()) >= 0, "cannot write attribute %s", name);
}

bool has_attr(hid_t obj, const char* name) {
  return H5Aexists(obj, name) > 0;
}

int64_t read_attr_i64(hid_t obj, const char* name, const std::string& file) {
  H5Handle a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  int64_t v = 0;
  ZF_CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0, "%s: cannot read attribute %s",
           file.c_str(), name);
  return v;
}

double read_attr_f64(hid_t obj, const char* name, const std::string& file) {
  H5Handle a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  double v = 0;
  ZF_CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0, "%s: cannot read attribute %s",
           file.c_str(), name);
  return v;
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& file) {
  H5Handle a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  ZF_CHECK(a >= 0, "%s: missing attribute %s", file.c_str(), name);
  H5Handle t(H5Aget_type(a), H5Tclose);
  ZF_CHECK(H5Tget_class(t) == H5T_STRING, "%s: attribute %s is not a string", file.c_str(), name);
  ZF_CHECK(!H5Tis_variable_str(t), "%s: attribute %s is a variable-length string", file.c_str(),
           name);
  H5Handle sp(H5Aget_space(a), H5Sclose);
  ZF_CHECK(H5Sget_simple_extent_npoints(sp) == 1, "%s: attribute %s is not a single string",
           file.c_str(), name);
  const size_t n = H5Tget_size(t);
  ZF_CHECK(n >= 1 && n <= kMaxStringBytes, "%s: attribute %s declares %zu bytes (at most %zu)",
           file.c_str(), name, n, kMaxStringBytes);
  std::string v(n, '\0');
  H5Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mt, n);
  H5Tset_strpad(mt, H5T_STR_NULLPAD);
  ZF_CHECK(H5Aread(a, mt, v.data()) >= 0, "%s: cannot read attribute %s", file.c_str(), name);
  while (!v.empty() && v.back() == '\0') v.pop_back();
  return v;
}

hid_t make_group(hid_t parent, const std::string& name) {
  hid_t g = H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, untimed(H5P_GROUP_CREATE), H5P_DEFAULT);
  ZF_CHECK(g >= 0, "cannot create group %s", name.c_str());
  return g;
}

namespace {
// fsync of a file or folder by name. HDF5's flush only reaches the kernel's page cache; without
// this a power loss after the rename can leave the final name on an empty or partial file.
void fsync_path(const std::string& p, bool dir) {
  const int fd = ::open(p.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  ZF_CHECK(fd >= 0, "%s: cannot open to fsync (%s)", p.c_str(), std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  ZF_CHECK(rc == 0, "%s: fsync failed (%s)", p.c_str(), std::strerror(err));
}
}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(hid_t)>& fill) {
  quiet_hdf5();
  const std::string tmp = path + ".tmp";
  try {
    {
      H5Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
      ZF_CHECK(f >= 0, "%s: cannot create", tmp.c_str());
      fill(f);
      ZF_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0, "%s: cannot flush", tmp.c_str());
    }  // closed: HDF5 writes its last metadata at close
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  rename_durably(tmp, path);
}

void rename_durably(const std::string& tmp, const std::string& path) {
  try {
    fsync_path(tmp, false);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  ZF_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "%s: cannot rename %s into place",
           path.c_str(), tmp.c_str());
  // The rename itself is durable only once the folder's entry is.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  fsync_path(parent.empty() ? std::string(".") : parent.string(), true);
}

void write_array(hid_t parent, const std::string& name, hid_t file_type, hid_t mem,
                 const std::vector<hsize_t>& dims, const void* data) {
  H5Handle sp(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle d(H5Dcreate2(parent, name.c_str(), file_type, sp, H5P_DEFAULT,
                        untimed(H5P_DATASET_CREATE), H5P_DEFAULT),
             H5Dclose);
  ZF_CHECK(d >= 0, "cannot create dataset %s", name.c_str());
  size_t n = 1;
  for (hsize_t v : dims) n *= v;
  if (n)
    ZF_CHECK(H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "cannot write dataset %s",
             name.c_str());
}

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& v) {
  size_t len = 1;
  for (const auto& x : v) len = std::max(len, x.size());
  std::vector<char> buf(len * v.size(), '\0');
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(buf.data() + i * len, v[i].data(), v[i].size());
  H5Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, len);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  write_array(parent, name, t, t, {v.size()}, buf.data());
}

std::vector<std::string> read_strings(hid_t parent, const std::string& name,
                                      const std::string& file, size_t max_count) {
  ZF_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0, "%s: missing /%s", file.c_str(),
           name.c_str());
  H5Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  ZF_CHECK(d >= 0, "%s: cannot open /%s", file.c_str(), name.c_str());
  H5Handle t(H5Dget_type(d), H5Tclose);
  ZF_CHECK(t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t),
           "%s: /%s is not a fixed-length string array", file.c_str(), name.c_str());
  const size_t len = H5Tget_size(t);
  ZF_CHECK(len >= 1 && len <= (1 << 16), "%s: /%s declares strings of %zu bytes (at most 65536)",
           file.c_str(), name.c_str(), len);
  const std::vector<hsize_t> dims = dataset_dims(d, name, file, Expect{{-1}, max_count});
  const size_t n = static_cast<size_t>(dims[0]);
  ZF_CHECK(n * len <= kMaxElements, "%s: /%s declares %zu strings of %zu bytes (too large)",
           file.c_str(), name.c_str(), n, len);
  std::vector<char> buf(len * n);
  H5Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mt, len);
  H5Tset_strpad(mt, H5T_STR_NULLPAD);
  if (n > 0)
    ZF_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0, "%s: cannot read /%s",
             file.c_str(), name.c_str());
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    std::string x(buf.data() + i * len, len);
    x.resize(std::strlen(x.c_str()));
    v.push_back(x);
  }
  return v;
}

std::vector<hsize_t> dataset_dims(hid_t d, const std::string& name, const std::string& file,
                                  const Expect& expect) {
  H5Handle sp(H5Dget_space(d), H5Sclose);
  const int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  ZF_CHECK(nd >= 0 && nd <= 8, "%s: /%s has %d dimensions", file.c_str(), name.c_str(), nd);
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  ZF_CHECK(H5Sget_simple_extent_dims(sp, dims.data(), nullptr) == nd,
           "%s: /%s: cannot read its dimensions", file.c_str(), name.c_str());
  auto shape = [&] {
    std::string s;
    for (hsize_t v : dims) s += (s.empty() ? "" : "x") + std::to_string(v);
    return "[" + s + "]";
  };
  if (!expect.dims.empty()) {
    bool ok = expect.dims.size() == dims.size();
    for (size_t i = 0; ok && i < dims.size(); ++i)
      ok = expect.dims[i] < 0 || dims[i] == static_cast<hsize_t>(expect.dims[i]);
    if (!ok) {
      std::string want;
      for (int64_t v : expect.dims)
        want += (want.empty() ? "" : "x") + (v < 0 ? "*" : std::to_string(v));
      ZF_THROW("%s: /%s is %s, expected [%s]", file.c_str(), name.c_str(), shape().c_str(),
               want.c_str());
    }
  }
  // The product, checked step by step: a file may declare dimensions whose product overflows.
  size_t n = 1;
  for (hsize_t v : dims) {
    ZF_CHECK(v == 0 || n <= expect.max_elements / v, "%s: /%s is %s: more than %zu elements",
             file.c_str(), name.c_str(), shape().c_str(), expect.max_elements);
    n *= static_cast<size_t>(v);
  }
  return dims;
}

std::vector<hsize_t> read_array(hid_t parent, const std::string& name, hid_t mem,
                                std::vector<uint8_t>* out, size_t elem_size,
                                const std::string& file, const Expect& expect) {
  ZF_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0, "%s: missing /%s", file.c_str(),
           name.c_str());
  H5Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  ZF_CHECK(d >= 0, "%s: cannot open /%s", file.c_str(), name.c_str());
  const std::vector<hsize_t> dims = dataset_dims(d, name, file, expect);
  size_t n = 1;
  for (hsize_t v : dims) n *= static_cast<size_t>(v);
  out->resize(n * elem_size);
  if (n)
    ZF_CHECK(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) >= 0,
             "%s: cannot read /%s", file.c_str(), name.c_str());
  return dims;
}

}  // namespace zf::h5
