// IDX, ImageFolder and packed-HDF5 data sets (see dataset.h).
#include "train/dataset.h"

#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "train/image_io.h"

namespace fs = std::filesystem;

namespace zf {

std::vector<std::string> Dataset::class_names() const {
  std::vector<std::string> n;
  for (int i = 0; i < num_classes(); ++i) n.push_back(std::to_string(i));
  return n;
}

namespace {

// ---- IDX -------------------------------------------------------------------------------------------

std::string existing(const std::string& path) {
  if (fs::exists(path)) return path;
  if (fs::exists(path + ".gz")) return path + ".gz";
  ZF_THROW("%s: no such file (nor %s.gz)", path.c_str(), path.c_str());
}

// Whole file through zlib (which reads plain files as they are).
std::vector<uint8_t> read_maybe_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  ZF_CHECK(f, "%s: cannot open", path.c_str());
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string m = (n < 0 || (err != Z_OK && err != Z_STREAM_END)) ? msg : "";
  gzclose(f);
  ZF_CHECK(m.empty(), "%s: corrupt or truncated gzip data (%s)", path.c_str(), m.c_str());
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

class IdxDataset : public Dataset {
 public:
  IdxDataset(const std::string& images, const std::string& labels, int64_t limit) {
    img_path_ = existing(images);
    const std::string lab_path = existing(labels);
    img_ = read_maybe_gz(img_path_);
    std::vector<uint8_t> lab = read_maybe_gz(lab_path);
    ZF_CHECK(img_.size() >= 16 && be32(img_.data()) == 0x803,
             "%s: not an IDX image file (magic 0x%08x, expected 0x00000803)", img_path_.c_str(),
             img_.size() >= 4 ? be32(img_.data()) : 0u);
    ZF_CHECK(lab.size() >= 8 && be32(lab.data()) == 0x801,
             "%s: not an IDX label file (magic 0x%08x, expected 0x00000801)", lab_path.c_str(),
             lab.size() >= 4 ? be32(lab.data()) : 0u);
    n_ = be32(img_.data() + 4);
    h_ = static_cast<int>(be32(img_.data() + 8));
    w_ = static_cast<int>(be32(img_.data() + 12));
    ZF_CHECK(h_ > 0 && w_ > 0 && h_ <= 4096 && w_ <= 4096, "%s: image size %dx%d", img_path_.c_str(), h_, w_);
    ZF_CHECK(img_.size() == 16 + static_cast<size_t>(n_) * h_ * w_,
             "%s: %zu bytes, but the header promises %lld images of %dx%d (%lld bytes)", img_path_.c_str(),
             img_.size(), static_cast<long long>(n_), h_, w_,
             static_cast<long long>(16 + static_cast<size_t>(n_) * h_ * w_));
    const int64_t nl = be32(lab.data() + 4);
    ZF_CHECK(lab.size() == 8 + static_cast<size_t>(nl), "%s: %zu bytes, but the header promises %lld labels",
             lab_path.c_str(), lab.size(), static_cast<long long>(nl));
    ZF_CHECK(nl == n_, "%s has %lld images but %s has %lld labels", img_path_.c_str(),
             static_cast<long long>(n_), lab_path.c_str(), static_cast<long long>(nl));
    ZF_CHECK(n_ > 0, "%s: no images", img_path_.c_str());
    if (limit > 0) n_ = std::min(n_, limit);
    labels_.assign(lab.begin() + 8, lab.begin() + 8 + n_);
    classes_ = 1 + *std::max_element(labels_.begin(), labels_.end());
  }
  int64_t size() const override { return n_; }
  int channels() const override { return 1; }
  int height() const override { return h_; }
  int width() const override { return w_; }
  int num_classes() const override { return classes_; }
  int32_t label(int64_t i) const override { return labels_[i]; }
  void image(int64_t i, uint8_t* chw) const override {
    std::copy_n(img_.data() + 16 + static_cast<size_t>(i) * h_ * w_, static_cast<size_t>(h_) * w_, chw);
  }
  std::string source() const override { return img_path_; }

 private:
  std::string img_path_;
  std::vector<uint8_t> img_, labels_;
  int64_t n_ = 0;
  int h_ = 0, w_ = 0, classes_ = 0;
};

// ---- ImageFolder -----------------------------------------------------------------------------------

bool is_image_name(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".jpg" || e == ".jpeg" || e == ".png";
}

class FolderDataset : public Dataset {
 public:
  FolderDataset(const std::string& root, int size, int channels, int64_t limit)
      : root_(root), size_(size), channels_(channels) {
    ZF_CHECK(fs::is_directory(root), "%s: no such directory", root.c_str());
    ZF_CHECK(channels == 1 || channels == 3, "%s: channels %d must be 1 or 3", root.c_str(), channels);
    ZF_CHECK(size >= 1, "%s: image size %d", root.c_str(), size);
    for (const auto& d : fs::directory_iterator(root))
      if (d.is_directory()) names_.push_back(d.path().filename().string());
    std::sort(names_.begin(), names_.end());
    ZF_CHECK(!names_.empty(), "%s: no class folders (expected root/<class>/*.jpg)", root.c_str());
    for (size_t c = 0; c < names_.size(); ++c) {
      std::vector<std::string> files;
      for (const auto& f : fs::directory_iterator(fs::path(root) / names_[c]))
        if (f.is_regular_file() && is_image_name(f.path())) files.push_back(f.path().string());
      std::sort(files.begin(), files.end());
      for (auto& f : files) {
        files_.push_back(std::move(f));
        labels_.push_back(static_cast<int32_t>(c));
      }
    }
    ZF_CHECK(!files_.empty(), "%s: no .jpg/.jpeg/.png images in its class folders", root.c_str());
    if (limit > 0 && static_cast<int64_t>(files_.size()) > limit) {
      // Keep a spread over the classes: every (size/limit)-th file of the sorted list.
      std::vector<std::string> f;
      std::vector<int32_t> l;
      for (int64_t i = 0; i < limit; ++i) {
        size_t j = static_cast<size_t>(i * static_cast<int64_t>(files_.size()) / limit);
        f.push_back(files_[j]);
        l.push_back(labels_[j]);
      }
      files_.swap(f);
      labels_.swap(l);
    }
  }
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  int channels() const override { return channels_; }
  int height() const override { return size_; }
  int width() const override { return size_; }
  int num_classes() const override { return static_cast<int>(names_.size()); }
  int32_t label(int64_t i) const override { return labels_[i]; }
  void image(int64_t i, uint8_t* chw) const override {
    Image img = resize_center_square(decode_image_file(files_[i], channels_), size_);
    const size_t plane = static_cast<size_t>(size_) * size_;
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < channels_; ++c) chw[c * plane + p] = img.pixels[p * channels_ + c];
  }
  std::string source() const override { return root_; }
  std::vector<std::string> class_names() const override { return names_; }

 private:
  std::string root_;
  int size_, channels_;
  std::vector<std::string> names_, files_;
  std::vector<int32_t> labels_;
};

// ---- packed HDF5 -----------------------------------------------------------------------------------

class Hdf5Dataset : public Dataset {
 public:
  Hdf5Dataset(const std::string& path, int64_t limit) : path_(path) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    ZF_CHECK(fs::exists(path), "%s: no such file", path.c_str());
    ZF_CHECK(H5Fis_hdf5(path.c_str()) > 0, "%s: not an HDF5 file", path.c_str());
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ZF_CHECK(f >= 0, "%s: cannot open", path.c_str());
    try {
      read_all(f, limit);
    } catch (...) {
      H5Fclose(f);
      throw;
    }
    H5Fclose(f);
  }
  int64_t size() const override { return n_; }
  int channels() const override { return c_; }
  int height() const override { return h_; }
  int width() const override { return w_; }
  int num_classes() const override { return classes_; }
  int32_t label(int64_t i) const override { return labels_[i]; }
  void image(int64_t i, uint8_t* chw) const override {
    std::copy_n(images_.data() + static_cast<size_t>(i) * image_bytes(), image_bytes(), chw);
  }
  std::string source() const override { return path_; }
  std::vector<float> stored_mean() const override { return mean_; }

 private:
  void read_all(hid_t f, int64_t limit) {
    for (const char* name : {"images", "labels"})
      ZF_CHECK(H5Lexists(f, name, H5P_DEFAULT) > 0, "%s: missing dataset /%s", path_.c_str(), name);
    hid_t d = H5Dopen2(f, "images", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[4] = {};
    const int nd = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, nullptr);
    H5Sclose(sp);
    if (nd != 4) {
      H5Dclose(d);
      ZF_THROW("%s: /images must be uint8 [N,C,H,W]", path_.c_str());
    }
    n_ = static_cast<int64_t>(dims[0]);
    c_ = static_cast<int>(dims[1]), h_ = static_cast<int>(dims[2]), w_ = static_cast<int>(dims[3]);
    images_.resize(static_cast<size_t>(n_) * image_bytes());
    herr_t rc = H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, images_.data());
    H5Dclose(d);
    ZF_CHECK(rc >= 0, "%s: cannot read /images", path_.c_str());
    labels_.resize(static_cast<size_t>(n_));
    d = H5Dopen2(f, "labels", H5P_DEFAULT);
    sp = H5Dget_space(d);
    const hssize_t nl = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    rc = nl == n_ ? H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels_.data()) : -1;
    H5Dclose(d);
    ZF_CHECK(rc >= 0, "%s: /labels has %lld entries for %lld images", path_.c_str(),
             static_cast<long long>(nl), static_cast<long long>(n_));
    if (H5Lexists(f, "mean", H5P_DEFAULT) > 0) {
      mean_.resize(image_bytes());
      d = H5Dopen2(f, "mean", H5P_DEFAULT);
      rc = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, mean_.data());
      H5Dclose(d);
      ZF_CHECK(rc >= 0, "%s: cannot read /mean as [C,H,W]", path_.c_str());
    }
    ZF_CHECK(n_ > 0, "%s: no images", path_.c_str());
    if (limit > 0) n_ = std::min(n_, limit);
    for (int64_t i = 0; i < n_; ++i)
      ZF_CHECK(labels_[i] >= 0, "%s: negative label at %lld", path_.c_str(), static_cast<long long>(i));
    classes_ = 1 + *std::max_element(labels_.begin(), labels_.begin() + n_);
  }
  std::string path_;
  int64_t n_ = 0;
  int c_ = 0, h_ = 0, w_ = 0, classes_ = 0;
  std::vector<uint8_t> images_;
  std::vector<int32_t> labels_;
  std::vector<float> mean_;
};

}  // namespace

std::unique_ptr<Dataset> open_idx(const std::string& images, const std::string& labels, int64_t limit) {
  return std::make_unique<IdxDataset>(images, labels, limit);
}
std::unique_ptr<Dataset> open_folder(const std::string& root, int size, int channels, int64_t limit) {
  return std::make_unique<FolderDataset>(root, size, channels, limit);
}
std::unique_ptr<Dataset> open_hdf5(const std::string& path, int64_t limit) {
  return std::make_unique<Hdf5Dataset>(path, limit);
}

}  // namespace zf
