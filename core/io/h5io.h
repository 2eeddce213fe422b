// Small RAII and typed helpers over the HDF5 C API, shared by checkpoints, dumps and data files.
// Failures throw zf::Error naming the object; call quiet() once to stop HDF5 printing its own
// stack.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/check.h"

namespace zf::h5 {

// Closes an HDF5 handle at scope exit.
struct H5Handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H5Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5Handle() {
    if (id >= 0 && close) close(id);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  operator hid_t() const { return id; }
};

void quiet_hdf5();
// Creates `path` through `path`.tmp, which `fill` writes and which is renamed into place only when
// fill succeeds (and removed when it throws): a crash never leaves a torn file under `path`.
void write_file_atomically(const std::string& path, const std::function<void(hid_t)>& fill);
void write_attr_i64(hid_t obj, const char* name, int64_t v);
void write_attr_f64(hid_t obj, const char* name, double v);
void write_attr_str(hid_t obj, const char* name, const std::string& v);
bool has_attr(hid_t obj, const char* name);
int64_t read_attr_i64(hid_t obj, const char* name, const std::string& file);
double read_attr_f64(hid_t obj, const char* name, const std::string& file);
std::string read_attr_str(hid_t obj, const char* name, const std::string& file);
hid_t make_group(hid_t parent, const std::string& name);
// A dataset of `dims` written from `data` in memory type `mem` and stored as `file_type`.
void write_array(hid_t parent, const std::string& name, hid_t file_type, hid_t mem,
                 const std::vector<hsize_t>& dims, const void* data);

// Fixed-length strings [n] (padded to the longest).
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& v);
std::vector<std::string> read_strings(hid_t parent, const std::string& name,
                                      const std::string& file);
// Reads a whole dataset (of any stored numeric type) converted to `mem`; returns its dimensions.
std::vector<hsize_t> read_array(hid_t parent, const std::string& name, hid_t mem,
                                std::vector<uint8_t>* out, size_t elem_size,
                                const std::string& file);
template <class T>
std::vector<T> read_vector(hid_t parent, const std::string& name, hid_t mem,
                           const std::string& file, std::vector<hsize_t>* dims = nullptr) {
  std::vector<uint8_t> raw;
  std::vector<hsize_t> d = read_array(parent, name, mem, &raw, sizeof(T), file);
  if (dims) *dims = d;
  std::vector<T> v(raw.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

}  // namespace zf::h5
