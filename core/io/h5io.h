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

// Closes an HDF5 handle at scope exit. Movable, so that objects holding open files (a data set's
// shards) close them even when their constructor throws half-way.
struct H5Handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H5Handle() = default;
  H5Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5Handle() { reset(); }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : id(o.id), close(o.close) { o.id = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id = o.id, close = o.close;
      o.id = -1;
    }
    return *this;
  }
  void reset() {
    if (id >= 0 && close) close(id);
    id = -1;
  }
  operator hid_t() const { return id; }
};

// Files are trusted to be HDF5, not to be sane: every size read from one is checked against what
// the reader expects and against these bounds before a buffer is sized from it.
constexpr size_t kMaxElements = size_t{1} << 28;     // of one dataset read whole (1 GiB of floats)
constexpr size_t kMaxStringBytes = size_t{1} << 24;  // of one string attribute (a config text)

// What a dataset read whole must look like: its rank and the dimensions known in advance (-1: any),
// and a bound on its element count. An empty `dims` accepts any rank.
struct Expect {
  std::vector<int64_t> dims;
  size_t max_elements = kMaxElements;
};

void quiet_hdf5();
// Creates `path` through `path`.tmp, which `fill` writes and which is renamed into place only when
// fill succeeds (and removed when it throws): a crash never leaves a torn file under `path`. The
// file is fsync'ed before the rename and its folder after it, so that after a power loss the name
// refers to the complete new file or to the old one, never to an empty or partial one.
void write_file_atomically(const std::string& path, const std::function<void(hid_t)>& fill);
// Moves the complete, closed file `tmp` to `path` the same way: fsync'ed (removed when that fails),
// renamed, its folder fsync'ed. For any file written through a temporary name, HDF5 or not.
void rename_durably(const std::string& tmp, const std::string& path);
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

// Fixed-length strings [n] (padded to the longest); at most `max_count` of them are read.
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& v);
std::vector<std::string> read_strings(hid_t parent, const std::string& name,
                                      const std::string& file, size_t max_count = 1 << 20);
// The dimensions of dataset `name`, checked against `expect` (errors name the file and the
// dataset).
std::vector<hsize_t> dataset_dims(hid_t d, const std::string& name, const std::string& file,
                                  const Expect& expect);
// Reads a whole dataset (of any stored numeric type) converted to `mem`, once its dimensions have
// passed `expect`; returns them.
std::vector<hsize_t> read_array(hid_t parent, const std::string& name, hid_t mem,
                                std::vector<uint8_t>* out, size_t elem_size,
                                const std::string& file, const Expect& expect = {});
template <class T>
std::vector<T> read_vector(hid_t parent, const std::string& name, hid_t mem,
                           const std::string& file, std::vector<hsize_t>* dims = nullptr,
                           const Expect& expect = {}) {
  std::vector<uint8_t> raw;
  std::vector<hsize_t> d = read_array(parent, name, mem, &raw, sizeof(T), file, expect);
  if (dims) *dims = d;
  std::vector<T> v(raw.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

}  // namespace zf::h5
