// safetensors files (the format Hugging Face defined, which PyTorch users exchange weights in):
//   8 bytes   N, little-endian uint64: the header's length
//   N bytes   JSON: {"<tensor>": {"dtype": "F32", "shape": [64, 3, 11, 11],
//                                 "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
//   the rest  the tensors' bytes, little-endian, C order; offsets relative to the rest's start
// A file from elsewhere is trusted to be nothing: the header is checked whole when the file is
// opened (length within the file, JSON of the documented structure, a known dtype, every byte range
// inside the file and as long as its shape says, no two ranges overlapping), so that no buffer is
// ever sized from an unchecked number. Errors are zf::Error naming the file and the tensor or field.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zf {

struct SafeTensor {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "F64", "I64", ...
  std::vector<int64_t> shape;  // [] for a scalar
  uint64_t begin = 0, end = 0; // byte range relative to the data section
  int64_t numel() const;
  std::string shape_str() const;  // "[64, 3, 11, 11]"
};

class SafetensorsFile {
 public:
  // Opens `path` and checks its header (reads only the header; tensors are read on demand).
  explicit SafetensorsFile(const std::string& path);
  // The same over bytes in memory (`name` stands for the file in errors): the fuzz target's way in.
  SafetensorsFile(std::string bytes, const std::string& name);

  const std::string& path() const { return path_; }
  const std::vector<SafeTensor>& tensors() const { return tensors_; }  // in file order
  const SafeTensor* find(const std::string& name) const;               // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A floating-point tensor's values as float32 (F32 as stored; F64, F16 and BF16 converted);
  // any other dtype is refused naming the tensor.
  std::vector<float> read_f32(const SafeTensor& t) const;

  // Bytes per element of a dtype name; 0 for a name the format does not define.
  static size_t dtype_size(const std::string& dtype);

 private:
  void parse(uint64_t file_size);
  void parse_header(const std::string& text);
  std::string path_;
  std::function<void(uint64_t offset, size_t n, char* dst)> read_;  // absolute file offsets
  uint64_t data_start_ = 0, data_size_ = 0;
  std::vector<SafeTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace zf
