// Packed HDF5 shards: writer, completeness check, meta file, and the lazily reading data set.
#include "train/shards.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "core/io/h5io.h"

namespace fs = std::filesystem;

namespace zf {

using namespace h5;

namespace {

// Bounds on what a shard or meta file may declare (sizes are checked before anything is sized).
constexpr int kMaxChannels = 4;
constexpr int kMaxSide = 1 << 15;
constexpr int32_t kMaxClasses = 1 << 24;
constexpr int64_t kMaxEncodedImage = int64_t{1} << 26;

// Integer attribute `name`, which must lie in [lo, hi]; the error names the file and attribute.
int64_t read_attr_range(hid_t f, const char* name, int64_t lo, int64_t hi,
                        const std::string& path) {
  const int64_t v = read_attr_i64(f, name, path);
  ZF_CHECK(v >= lo && v <= hi, "%s: attribute %s = %lld (expected %lld..%lld)", path.c_str(), name,
           static_cast<long long>(v), static_cast<long long>(lo), static_cast<long long>(hi));
  return v;
}

struct ImageGeometry {
  int c = 0, h = 0, w = 0;
};
// channels, height, width of a shard's images: a 0 side would divide by zero in the reader.
ImageGeometry read_geometry(hid_t f, const std::string& path) {
  ImageGeometry g;
  g.c = static_cast<int>(read_attr_range(f, "channels", 1, kMaxChannels, path));
  g.h = static_cast<int>(read_attr_range(f, "height", 1, kMaxSide, path));
  g.w = static_cast<int>(read_attr_range(f, "width", 1, kMaxSide, path));
  ZF_CHECK(static_cast<size_t>(g.c) * g.h * g.w <= kMaxElements,
           "%s: images of %dx%dx%d are too large", path.c_str(), g.c, g.h, g.w);
  return g;
}

}  // namespace

void write_shard(const std::string& path, const ShardContents& s) {
  write_file_atomically(path, [&](hid_t f) {
    const hsize_t n = s.labels.size(), C = static_cast<hsize_t>(s.channels),
                  H = static_cast<hsize_t>(s.height), W = static_cast<hsize_t>(s.width);
    write_attr_str(f, "format", "zfnet-shard");
    write_attr_i64(f, "version", 1);
    write_attr_str(f, "store", s.store);
    write_attr_i64(f, "channels", s.channels);
    write_attr_i64(f, "height", s.height);
    write_attr_i64(f, "width", s.width);
    write_attr_i64(f, "count", static_cast<int64_t>(n));
    write_attr_str(f, "key", s.key);
    write_array(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, {n}, s.labels.data());
    if (s.store == "raw") {
      ZF_CHECK(s.bytes.size() == n * C * H * W, "%s: %zu bytes for %llu raw images", path.c_str(),
               s.bytes.size(), static_cast<unsigned long long>(n));
      write_array(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, {n, C, H, W}, s.bytes.data());
    } else {
      ZF_CHECK(s.offsets.size() == n + 1, "%s: %zu offsets for %llu images", path.c_str(),
               s.offsets.size(), static_cast<unsigned long long>(n));
      write_array(f, "jpeg", H5T_STD_U8LE, H5T_NATIVE_UINT8, {s.bytes.size()}, s.bytes.data());
      write_array(f, "offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, {n + 1}, s.offsets.data());
    }
    write_array(f, "pixel_sum", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {C, H, W}, s.pixel_sum.data());
    write_strings(f, "skipped", s.skipped);
  });
}

bool shard_is_complete(const std::string& path, const std::string& key) {
  quiet_hdf5();
  if (!fs::exists(path) || H5Fis_hdf5(path.c_str()) <= 0) return false;
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f < 0 || !has_attr(f, "key") || !has_attr(f, "count")) return false;
  try {
    return read_attr_str(f, "key", path) == key && H5Lexists(f, "pixel_sum", H5P_DEFAULT) > 0;
  } catch (const Error&) {
    return false;
  }
}

ShardSummary read_shard_summary(const std::string& path) {
  quiet_hdf5();
  ZF_CHECK(H5Fis_hdf5(path.c_str()) > 0, "%s: not an HDF5 file", path.c_str());
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ZF_CHECK(f >= 0, "%s: cannot open", path.c_str());
  ShardSummary s;
  s.count = read_attr_range(f, "count", 0, kMaxElements, path);
  const ImageGeometry g = read_geometry(f, path);
  s.pixel_sum = read_vector<double>(f, "pixel_sum", H5T_NATIVE_DOUBLE, path, nullptr,
                                    Expect{{g.c, g.h, g.w}});
  s.skipped = read_strings(f, "skipped", path);
  return s;
}

void write_packed_meta(const std::string& path, const PackedMeta& m) {
  write_file_atomically(path, [&](hid_t f) {
    write_attr_str(f, "format", "zfnet-packed");
    write_attr_i64(f, "version", 1);
    write_attr_str(f, "store", m.store);
    write_attr_str(f, "key", m.key);
    write_attr_i64(f, "size", m.size);
    write_attr_i64(f, "quality", m.quality);
    write_attr_i64(f, "classes", static_cast<int64_t>(m.synsets.size()));
    const hsize_t C = static_cast<hsize_t>(m.channels), S = static_cast<hsize_t>(m.size);
    if (!m.mean.empty())
      write_array(f, "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {C, S, S}, m.mean.data());
    write_strings(f, "synsets", m.synsets);
    write_strings(f, "class_names", m.class_names);
  });
}

PackedMeta read_packed_meta(const std::string& path) {
  quiet_hdf5();
  ZF_CHECK(fs::exists(path), "%s: no such file", path.c_str());
  ZF_CHECK(H5Fis_hdf5(path.c_str()) > 0, "%s: not an HDF5 file", path.c_str());
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ZF_CHECK(f >= 0 && has_attr(f, "format") && read_attr_str(f, "format", path) == "zfnet-packed",
           "%s: not a zf_prepare meta file", path.c_str());
  PackedMeta m;
  m.store = read_attr_str(f, "store", path);
  m.key = read_attr_str(f, "key", path);
  m.size = static_cast<int>(read_attr_range(f, "size", 0, kMaxSide, path));
  m.quality = static_cast<int>(read_attr_range(f, "quality", 0, 100, path));
  if (H5Lexists(f, "mean", H5P_DEFAULT) > 0) {
    std::vector<hsize_t> dims;
    m.mean =
        read_vector<float>(f, "mean", H5T_NATIVE_FLOAT, path, &dims, Expect{{-1, m.size, m.size}});
    ZF_CHECK(dims[0] >= 1 && dims[0] <= kMaxChannels, "%s: /mean has %llu channels", path.c_str(),
             static_cast<unsigned long long>(dims[0]));
    m.channels = static_cast<int>(dims[0]);
  }
  m.synsets = read_strings(f, "synsets", path);
  m.class_names = read_strings(f, "class_names", path);
  return m;
}

// ---- reading
// ---------------------------------------------------------------------------------------

namespace {

class PackedDataset : public Dataset {
 public:
  PackedDataset(const std::string& path, int64_t limit) : source_(path) {
    quiet_hdf5();
    std::vector<std::string> files;
    std::string meta_path;
    if (fs::is_regular_file(path)) {
      files.push_back(path);
    } else {
      const fs::path prefix(path);
      const fs::path dir = prefix.has_parent_path() ? prefix.parent_path() : fs::path(".");
      ZF_CHECK(fs::is_directory(dir), "%s: no such file, and %s is no directory of shards",
               path.c_str(), dir.string().c_str());
      const std::regex re(prefix.filename().string() + "-[0-9]+\\.h5");
      for (const auto& e : fs::directory_iterator(dir))
        if (std::regex_match(e.path().filename().string(), re)) files.push_back(e.path().string());
      ZF_CHECK(!files.empty(), "%s: no such file, nor shards %s-NNNNN.h5", path.c_str(),
               path.c_str());
      std::sort(files.begin(), files.end());
      meta_path = (dir / "meta.h5").string();
    }
    for (const auto& f : files) open_shard(f);
    if (!meta_path.empty() && fs::exists(meta_path)) {
      PackedMeta m = read_packed_meta(meta_path);
      mean_ = m.mean;
      names_ = m.class_names;
    }
    if (limit > 0) n_ = std::min(n_, limit);
    ZF_CHECK(n_ > 0, "%s: no images", path.c_str());
    for (int64_t i = 0; i < n_; ++i) classes_ = std::max(classes_, label(i) + 1);
    if (!names_.empty()) classes_ = std::max<int>(classes_, static_cast<int>(names_.size()));
    ZF_CHECK(mean_.empty() || mean_.size() == image_bytes(),
             "%s: mean image does not match %dx%dx%d", meta_path.c_str(), c_, h_, w_);
  }
  int64_t size() const override { return n_; }
  int channels() const override { return c_; }
  int height() const override { return h_; }
  int width() const override { return w_; }
  int num_classes() const override { return classes_; }
  int32_t label(int64_t i) const override {
    const Shard& s = shard_of(i);
    return s.labels[i - s.first];
  }
  void image(int64_t i, uint8_t* chw) const override {
    const Shard& s = shard_of(i);
    const int64_t j = i - s.first;
    if (s.raw) {
      read_bytes(s, j * static_cast<int64_t>(image_bytes()), image_bytes(), chw);
      return;
    }
    const int64_t lo = s.offsets[j], hi = s.offsets[j + 1];
    std::vector<uint8_t> jpg(static_cast<size_t>(hi - lo));
    read_bytes(s, lo, jpg.size(), jpg.data());
    Image img = decode_image(jpg.data(), jpg.size(), s.path + "#" + std::to_string(j), c_);
    ZF_CHECK(img.width == w_ && img.height == h_, "%s#%lld: a %dx%d image in a %dx%d shard",
             s.path.c_str(), static_cast<long long>(j), img.width, img.height, w_, h_);
    const size_t plane = static_cast<size_t>(h_) * w_;
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < c_; ++c) chw[c * plane + p] = img.pixels[p * c_ + c];
  }
  std::string source() const override { return source_; }
  std::vector<std::string> class_names() const override {
    return names_.empty() ? Dataset::class_names() : names_;
  }
  std::vector<float> stored_mean() const override { return mean_; }

 private:
  struct Shard {
    std::string path;
    H5Handle file, data;
    bool raw = false;
    int64_t first = 0;
    std::vector<int32_t> labels;
    std::vector<int64_t> offsets;
  };

  void open_shard(const std::string& path) {
    ZF_CHECK(H5Fis_hdf5(path.c_str()) > 0, "%s: not an HDF5 file (torn or foreign?)", path.c_str());
    Shard sh;
    sh.path = path;
    // Owned from here: a throw below (or in a later shard) closes it.
    sh.file = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    ZF_CHECK(sh.file >= 0, "%s: cannot open", path.c_str());
    ZF_CHECK(has_attr(sh.file, "format") && read_attr_str(sh.file, "format", path) == "zfnet-shard",
             "%s: not a zfnet shard", path.c_str());
    const ImageGeometry g = read_geometry(sh.file, path);
    if (shards_.empty()) c_ = g.c, h_ = g.h, w_ = g.w;
    ZF_CHECK(g.c == c_ && g.h == h_ && g.w == w_, "%s: %dx%dx%d images, but %s has %dx%dx%d",
             path.c_str(), g.c, g.h, g.w, shards_[0].path.c_str(), c_, h_, w_);
    const std::string store = read_attr_str(sh.file, "store", path);
    ZF_CHECK(store == "raw" || store == "jpeg",
             "%s: attribute store = \"%s\" (expected raw or jpeg)", path.c_str(), store.c_str());
    sh.raw = store == "raw";
    const int64_t count = read_attr_range(sh.file, "count", 0, kMaxElements, path);
    sh.labels =
        read_vector<int32_t>(sh.file, "labels", H5T_NATIVE_INT32, path, nullptr, Expect{{-1}});
    ZF_CHECK(static_cast<int64_t>(sh.labels.size()) == count,
             "%s: /labels has %zu entries but attribute count = %lld", path.c_str(),
             sh.labels.size(), static_cast<long long>(count));
    for (size_t i = 0; i < sh.labels.size(); ++i)
      ZF_CHECK(sh.labels[i] >= 0 && sh.labels[i] < kMaxClasses,
               "%s: /labels[%zu] = %d (expected a label 0..%d)", path.c_str(), i, sh.labels[i],
               kMaxClasses - 1);
    const char* data_name = sh.raw ? "images" : "jpeg";
    ZF_CHECK(H5Lexists(sh.file, data_name, H5P_DEFAULT) > 0, "%s: missing /%s", path.c_str(),
             data_name);
    sh.data = H5Handle(H5Dopen2(sh.file, data_name, H5P_DEFAULT), H5Dclose);
    ZF_CHECK(sh.data >= 0, "%s: cannot open /%s", path.c_str(), data_name);
    if (sh.raw) {
      // read_bytes slices one [C, H, W] image per index: the dataset must be exactly that.
      dataset_dims(sh.data, data_name, path, Expect{{count, c_, h_, w_}, ~size_t{0}});
    } else {
      const std::vector<hsize_t> dims =
          dataset_dims(sh.data, data_name, path, Expect{{-1}, ~size_t{0}});
      sh.offsets = read_vector<int64_t>(sh.file, "offsets", H5T_NATIVE_INT64, path, nullptr,
                                        Expect{{count + 1}});
      check_offsets(sh.offsets, dims[0], path);
    }
    sh.first = n_;
    n_ += static_cast<int64_t>(sh.labels.size());
    shards_.push_back(std::move(sh));
  }

  // Image i is bytes [offsets[i], offsets[i+1]) of /jpeg: monotone, inside the array, and each
  // image of a plausible size (image() allocates hi - lo bytes).
  static void check_offsets(const std::vector<int64_t>& off, hsize_t bytes,
                            const std::string& path) {
    ZF_CHECK(off[0] >= 0, "%s: /offsets[0] = %lld (negative)", path.c_str(),
             static_cast<long long>(off[0]));
    for (size_t i = 0; i + 1 < off.size(); ++i)
      ZF_CHECK(off[i + 1] >= off[i] && off[i + 1] - off[i] <= kMaxEncodedImage,
               "%s: /offsets[%zu..%zu] = %lld..%lld (image %zu: expected 0..%lld bytes)",
               path.c_str(), i, i + 1, static_cast<long long>(off[i]),
               static_cast<long long>(off[i + 1]), i, static_cast<long long>(kMaxEncodedImage));
    ZF_CHECK(static_cast<uint64_t>(off.back()) <= bytes,
             "%s: /offsets[%zu] = %lld, past the end of /jpeg (%llu bytes)", path.c_str(),
             off.size() - 1, static_cast<long long>(off.back()),
             static_cast<unsigned long long>(bytes));
  }

  const Shard& shard_of(int64_t i) const {
    auto it = std::upper_bound(shards_.begin(), shards_.end(), i,
                               [](int64_t v, const Shard& s) { return v < s.first; });
    return *(it - 1);
  }

  // Bytes [offset, offset + n) of the shard's data set, flattened (HDF5 is built thread-safe).
  void read_bytes(const Shard& s, int64_t offset, size_t n, uint8_t* out) const {
    H5Handle space(H5Dget_space(s.data), H5Sclose);
    const int nd = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> start(static_cast<size_t>(nd), 0), count(static_cast<size_t>(nd), 1),
        dims(nd);
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    if (nd == 1) {
      start[0] = static_cast<hsize_t>(offset), count[0] = n;
    } else {  // [n, C, H, W]: one whole image
      start[0] = static_cast<hsize_t>(offset) / image_bytes();
      for (int d = 1; d < nd; ++d) count[d] = dims[d];
    }
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const hsize_t nn = n;
    H5Handle mem(H5Screate_simple(1, &nn, nullptr), H5Sclose);
    ZF_CHECK(H5Dread(s.data, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, out) >= 0,
             "%s: read failed", s.path.c_str());
  }

  std::string source_;
  std::vector<Shard> shards_;
  int64_t n_ = 0;
  int c_ = 0, h_ = 0, w_ = 0, classes_ = 0;
  std::vector<float> mean_;
  std::vector<std::string> names_;
};

}  // namespace

std::unique_ptr<Dataset> open_hdf5(const std::string& path, int64_t limit) {
  return std::make_unique<PackedDataset>(path, limit);
}

}  // namespace zf
