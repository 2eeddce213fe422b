// The packed HDF5 image format that zf_prepare writes and the trainer reads.
//
// A shard file (written to a temporary name and renamed, so a file under its final name is
// complete):
//   / attrs: format="zfnet-shard", version=1, store="jpeg"|"raw", channels, height, width, count,
//   key /labels   int32 [n] /images   uint8 [n, C, H, W]                      (store = raw) /jpeg
//   uint8 [bytes], /offsets int64 [n + 1]   (store = jpeg: image i is
//   jpeg[offsets[i]:offsets[i+1]]) /pixel_sum float64 [C, H, W]                      (sum of this
//   shard's pixels, for the mean image) /skipped  strings                                 (inputs
//   left out, with the reason)
// A split is DIR/<split>-00000.h5, DIR/<split>-00001.h5, ...; DIR/meta.h5 holds what the splits
// share:
//   / attrs: format="zfnet-packed", version=1, store, size, quality, key, classes
//   /mean float32 [C, H, W] (the training set's per-pixel mean), /synsets, /class_names (strings
//   [classes])
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/dataset.h"
#include "train/image_io.h"

namespace zf {

struct ShardContents {
  std::string store = "jpeg";  // jpeg | raw
  int channels = 3, height = 0, width = 0;
  std::string key;  // what produced it (options + file list digest), for restarts
  std::vector<int32_t> labels;
  std::vector<uint8_t> bytes;        // raw pixels [n, C, H, W] or concatenated JPEG files
  std::vector<int64_t> offsets;      // jpeg: n + 1 offsets into bytes
  std::vector<double> pixel_sum;     // [C, H, W]
  std::vector<std::string> skipped;  // "file: reason" for the inputs left out
};

void write_shard(const std::string& path, const ShardContents& s);
// True when `path` is a complete shard written with `key` (any failure to read it counts as false).
bool shard_is_complete(const std::string& path, const std::string& key);
// What a finished shard contributes to the split's totals.
struct ShardSummary {
  int64_t count = 0;
  std::vector<double> pixel_sum;
  std::vector<std::string> skipped;
};
ShardSummary read_shard_summary(const std::string& path);

struct PackedMeta {
  std::string store, key;
  int size = 0, quality = 0;
  std::vector<float> mean;  // [C, size, size]
  int channels = 3;
  std::vector<std::string> synsets, class_names;
};
void write_packed_meta(const std::string& path, const PackedMeta& m);
PackedMeta read_packed_meta(const std::string& path);

}  // namespace zf
