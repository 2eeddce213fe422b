// IDX, ImageFolder and packed-HDF5 data sets (see dataset.h).
#include "train/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "train/config.h"
#include "train/image_io.h"

namespace fs = std::filesystem;

namespace zf {

std::vector<std::string> Dataset::class_names() const {
  std::vector<std::string> n;
  for (int i = 0; i < num_classes(); ++i) n.push_back(std::to_string(i));
  return n;
}

namespace {

// ---- IDX
// -------------------------------------------------------------------------------------------

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
    ZF_CHECK(h_ > 0 && w_ > 0 && h_ <= 4096 && w_ <= 4096, "%s: image size %dx%d",
             img_path_.c_str(), h_, w_);
    ZF_CHECK(img_.size() == 16 + static_cast<size_t>(n_) * h_ * w_,
             "%s: %zu bytes, but the header promises %lld images of %dx%d (%lld bytes)",
             img_path_.c_str(), img_.size(), static_cast<long long>(n_), h_, w_,
             static_cast<long long>(16 + static_cast<size_t>(n_) * h_ * w_));
    const int64_t nl = be32(lab.data() + 4);
    ZF_CHECK(lab.size() == 8 + static_cast<size_t>(nl),
             "%s: %zu bytes, but the header promises %lld labels", lab_path.c_str(), lab.size(),
             static_cast<long long>(nl));
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
    std::copy_n(img_.data() + 16 + static_cast<size_t>(i) * h_ * w_, static_cast<size_t>(h_) * w_,
                chw);
  }
  std::string source() const override { return img_path_; }

 private:
  std::string img_path_;
  std::vector<uint8_t> img_, labels_;
  int64_t n_ = 0;
  int h_ = 0, w_ = 0, classes_ = 0;
};

// ---- ImageFolder
// -----------------------------------------------------------------------------------

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
    ZF_CHECK(channels == 1 || channels == 3, "%s: channels %d must be 1 or 3", root.c_str(),
             channels);
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

}  // namespace

std::unique_ptr<Dataset> open_idx(const std::string& images, const std::string& labels,
                                  int64_t limit) {
  return std::make_unique<IdxDataset>(images, labels, limit);
}
std::unique_ptr<Dataset> open_folder(const std::string& root, int size, int channels,
                                     int64_t limit) {
  return std::make_unique<FolderDataset>(root, size, channels, limit);
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& d, bool train_split) {
  const std::string& p = train_split ? d.train : d.val;
  const int64_t limit = train_split ? d.limit_train : d.limit_val;
  ZF_CHECK(!p.empty(), "data.%s: no path configured", train_split ? "train" : "val");
  if (d.format == "idx") return open_idx(p + "-images-idx3-ubyte", p + "-labels-idx1-ubyte", limit);
  if (d.format == "folder") return open_folder(p, d.image_size, d.channels, limit);
  return open_hdf5(p, limit);
}

}  // namespace zf
