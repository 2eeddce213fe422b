// safetensors reading (see safetensors.h): the header checked whole before anything is sized.
#include "core/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"

namespace zf {

namespace {

// The format's own bound on the header (100 MB), and ours on a tensor's rank and element count.
constexpr uint64_t kMaxHeader = 100'000'000;
constexpr size_t kMaxRank = 8;
constexpr int64_t kMaxElements = int64_t{1} << 40;

struct DType {
  const char* name;
  size_t size;
};
constexpr DType kDTypes[] = {{"F64", 8},  {"F32", 4},  {"F16", 2},     {"BF16", 2},    {"I64", 8},
                             {"I32", 4},  {"I16", 2},  {"I8", 1},      {"U64", 8},     {"U32", 4},
                             {"U16", 2},  {"U8", 1},   {"BOOL", 1},    {"F8_E4M3", 1}, {"F8_E5M2", 1}};

uint64_t le64(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  float f;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    f = std::ldexp(static_cast<float>(mant), -24);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits |= sign;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  const uint32_t bits =
      exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  std::memcpy(&f, &bits, 4);
  return f;
}

uint64_t offset_of(const nlohmann::json& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw Error(where + " must be a non-negative integer, got " + v.dump());
  return v.get<uint64_t>();
}

}  // namespace

int64_t SafeTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string SafeTensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

size_t SafetensorsFile::dtype_size(const std::string& dtype) {
  for (const DType& d : kDTypes)
    if (dtype == d.name) return d.size;
  return 0;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  ZF_CHECK(in->good(), "%s: cannot open (%s)", path.c_str(), std::strerror(errno));
  in->seekg(0, std::ios::end);
  const std::streamoff size = in->tellg();
  ZF_CHECK(size >= 0, "%s: cannot read its size", path.c_str());
  read_ = [in, path](uint64_t off, size_t n, char* dst) {
    in->clear();
    in->seekg(static_cast<std::streamoff>(off));
    in->read(dst, static_cast<std::streamsize>(n));
    ZF_CHECK(in->good() && static_cast<size_t>(in->gcount()) == n,
             "%s: read of %zu bytes at offset %llu failed", path.c_str(), n,
             static_cast<unsigned long long>(off));
  };
  parse(static_cast<uint64_t>(size));
}

SafetensorsFile::SafetensorsFile(std::string bytes, const std::string& name) : path_(name) {
  auto buf = std::make_shared<std::string>(std::move(bytes));
  const uint64_t size = buf->size();
  read_ = [buf](uint64_t off, size_t n, char* dst) {
    ZF_CHECK(off <= buf->size() && n <= buf->size() - off, "read past the end");
    std::memcpy(dst, buf->data() + off, n);
  };
  parse(size);
}

void SafetensorsFile::parse(uint64_t file_size) {
  const char* p = path_.c_str();
  ZF_CHECK(file_size >= 8,
           "%s: %llu bytes: too short for a safetensors file (8-byte header length first)", p,
           static_cast<unsigned long long>(file_size));
  unsigned char len_bytes[8];
  read_(0, 8, reinterpret_cast<char*>(len_bytes));
  const uint64_t n = le64(len_bytes);
  ZF_CHECK(n <= file_size - 8,
           "%s: header length %llu is larger than the file (%llu bytes after the length): "
           "truncated, or not a safetensors file",
           p, static_cast<unsigned long long>(n), static_cast<unsigned long long>(file_size - 8));
  ZF_CHECK(n >= 2 && n <= kMaxHeader, "%s: header length %llu (expected 2..%llu)", p,
           static_cast<unsigned long long>(n), static_cast<unsigned long long>(kMaxHeader));
  std::string text(static_cast<size_t>(n), '\0');
  read_(8, text.size(), text.data());
  data_start_ = 8 + n;
  data_size_ = file_size - data_start_;

  try {
    parse_header(text);
  } catch (const nlohmann::json::exception& e) {  // anything the checks did not foresee
    throw Error(path_ + ": header: " + e.what());
  }
}

void SafetensorsFile::parse_header(const std::string& text) {
  const char* p = path_.c_str();
  nlohmann::json h = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  ZF_CHECK(!h.is_discarded(), "%s: the header is not valid JSON", p);
  ZF_CHECK(h.is_object(), "%s: the header is JSON %s, expected an object of tensors", p,
           h.type_name());
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& e = it.value();
    const std::string where = path_ + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      ZF_CHECK(e.is_object(), "%s: __metadata__ is %s, expected an object of strings", p,
               e.type_name());
      for (auto m = e.begin(); m != e.end(); ++m) {
        ZF_CHECK(m.value().is_string(), "%s: __metadata__ '%s' is %s, expected a string", p,
                 m.key().c_str(), m.value().type_name());
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    ZF_CHECK(e.is_object(), "%s: is %s, expected an object with dtype, shape and data_offsets",
             where.c_str(), e.type_name());
    for (auto f = e.begin(); f != e.end(); ++f)
      ZF_CHECK(f.key() == "dtype" || f.key() == "shape" || f.key() == "data_offsets",
               "%s: unknown field '%s' (expected dtype, shape, data_offsets)", where.c_str(),
               f.key().c_str());
    for (const char* f : {"dtype", "shape", "data_offsets"})
      ZF_CHECK(e.contains(f), "%s: missing field '%s'", where.c_str(), f);
    SafeTensor t;
    t.name = name;
    ZF_CHECK(e["dtype"].is_string(), "%s: dtype is %s, expected a string", where.c_str(),
             e["dtype"].type_name());
    t.dtype = e["dtype"].get<std::string>();
    const size_t esize = dtype_size(t.dtype);
    ZF_CHECK(esize > 0, "%s: unknown dtype '%s'", where.c_str(), t.dtype.c_str());
    const nlohmann::json& shape = e["shape"];
    ZF_CHECK(shape.is_array() && shape.size() <= kMaxRank,
             "%s: shape must be a list of at most %zu sizes, got %s", where.c_str(), kMaxRank,
             shape.dump().c_str());
    int64_t numel = 1;
    for (const nlohmann::json& d : shape) {
      const uint64_t v = offset_of(d, where + ": shape entry");
      ZF_CHECK(v <= static_cast<uint64_t>(kMaxElements) &&
                   (v == 0 || numel <= kMaxElements / static_cast<int64_t>(v)),
               "%s: shape %s has more than 2^40 elements", where.c_str(), shape.dump().c_str());
      numel *= static_cast<int64_t>(v);
      t.shape.push_back(static_cast<int64_t>(v));
    }
    const nlohmann::json& off = e["data_offsets"];
    ZF_CHECK(off.is_array() && off.size() == 2, "%s: data_offsets must be [begin, end], got %s",
             where.c_str(), off.dump().c_str());
    t.begin = offset_of(off[0], where + ": data_offsets[0]");
    t.end = offset_of(off[1], where + ": data_offsets[1]");
    ZF_CHECK(t.begin <= t.end && t.end <= data_size_,
             "%s: data_offsets [%llu, %llu] outside the %llu data bytes the file holds%s",
             where.c_str(), static_cast<unsigned long long>(t.begin),
             static_cast<unsigned long long>(t.end), static_cast<unsigned long long>(data_size_),
             t.end > data_size_ ? " (truncated file?)" : "");
    const uint64_t want = static_cast<uint64_t>(numel) * esize;  // < 2^44: no overflow
    ZF_CHECK(t.end - t.begin == want,
             "%s: data_offsets [%llu, %llu] span %llu bytes, but %s %s needs %llu",
             where.c_str(), static_cast<unsigned long long>(t.begin),
             static_cast<unsigned long long>(t.end),
             static_cast<unsigned long long>(t.end - t.begin), t.dtype.c_str(),
             t.shape_str().c_str(), static_cast<unsigned long long>(want));
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }
  // No two byte ranges may overlap (each tensor owns its bytes).
  std::vector<const SafeTensor*> by_begin;
  for (const SafeTensor& t : tensors_) by_begin.push_back(&t);
  std::sort(by_begin.begin(), by_begin.end(), [](const SafeTensor* a, const SafeTensor* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < by_begin.size(); ++i)
    ZF_CHECK(by_begin[i]->begin >= by_begin[i - 1]->end,
             "%s: tensors '%s' and '%s' overlap (data_offsets [%llu, %llu] and [%llu, %llu])", p,
             by_begin[i - 1]->name.c_str(), by_begin[i]->name.c_str(),
             static_cast<unsigned long long>(by_begin[i - 1]->begin),
             static_cast<unsigned long long>(by_begin[i - 1]->end),
             static_cast<unsigned long long>(by_begin[i]->begin),
             static_cast<unsigned long long>(by_begin[i]->end));
  // File order = data order, as the format's writers lay them out.
  std::sort(tensors_.begin(), tensors_.end(), [](const SafeTensor& a, const SafeTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
  });
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const SafeTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> SafetensorsFile::read_f32(const SafeTensor& t) const {
  const size_t esize = dtype_size(t.dtype);
  ZF_CHECK(t.dtype == "F32" || t.dtype == "F64" || t.dtype == "F16" || t.dtype == "BF16",
           "%s: tensor '%s' has dtype %s; expected a floating-point tensor (F32, F64, F16, BF16)",
           path_.c_str(), t.name.c_str(), t.dtype.c_str());
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<char> raw(n * esize);
  if (!raw.empty()) read_(data_start_ + t.begin, raw.size(), raw.data());
  std::vector<float> out(n);
  const unsigned char* b = reinterpret_cast<const unsigned char*>(raw.data());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* e = b + i * esize;
    if (t.dtype == "F32") {
      uint32_t bits = uint32_t{e[0]} | uint32_t{e[1]} << 8 | uint32_t{e[2]} << 16 |
                      uint32_t{e[3]} << 24;
      std::memcpy(&out[i], &bits, 4);
    } else if (t.dtype == "F64") {
      const uint64_t bits = le64(e);
      double d;
      std::memcpy(&d, &bits, 8);
      out[i] = static_cast<float>(d);
    } else if (t.dtype == "F16") {
      out[i] = half_to_float(static_cast<uint16_t>(e[0] | e[1] << 8));
    } else {  // BF16: the upper half of a float32
      const uint32_t bits = (uint32_t{e[0]} | uint32_t{e[1]} << 8) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  }
  return out;
}

}  // namespace zf
