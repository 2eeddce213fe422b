// Data sets behind one interface: images of one fixed size as 8-bit CHW planes, plus int32 labels.
//   IdxDataset:    MNIST / Fashion-MNIST IDX files, gzipped or not
//   FolderDataset: root/<class>/*.jpg|*.jpeg|*.png (ImageFolder), each image resized and
//   center-cropped packed HDF5:   shards written by zf_prepare (train/shards.h), raw uint8 or JPEG
//   bytes
// image() is safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zf {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual int channels() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual int num_classes() const = 0;
  virtual int32_t label(int64_t i) const = 0;
  virtual void image(int64_t i, uint8_t* chw) const = 0;
  virtual std::string source() const = 0;  // path, for messages and dumps
  virtual std::vector<std::string> class_names()
      const;  // "0", "1", ... unless the format has names
  // The stored per-pixel mean [C*H*W], when the format carries one (empty otherwise).
  virtual std::vector<float> stored_mean() const { return {}; }
  size_t image_bytes() const { return static_cast<size_t>(channels()) * height() * width(); }
};

// `images` and `labels` are IDX files; a missing file is also tried with ".gz" appended.
// limit > 0 keeps only the first `limit` samples.
std::unique_ptr<Dataset> open_idx(const std::string& images, const std::string& labels,
                                  int64_t limit = 0);
// `size` is the side of the square every image is resized and center-cropped to; channels 1 or 3.
std::unique_ptr<Dataset> open_folder(const std::string& root, int size, int channels,
                                     int64_t limit = 0);
// A packed shard file (`x.h5`) or a shard prefix (`DIR/train` -> DIR/train-00000.h5, ...); see
// shards.h.
std::unique_ptr<Dataset> open_hdf5(const std::string& path, int64_t limit = 0);

}  // namespace zf
