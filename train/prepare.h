// zf_prepare's work as a library function (so tests can call it): reads an ILSVRC2012-style tree,
// resizes each image's shorter side to `size` (antialiased), center-crops size x size, and writes
// packed HDF5 shards (train/shards.h) plus meta.h5 with the training set's per-pixel mean.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zf {

struct PrepareOptions {
  std::string train, val, val_labels, out;
  std::string synsets;  // optional "nXXXXXXXX name, other name" lines (LOC_synset_mapping.txt)
  std::string store = "jpeg";  // jpeg | raw
  int size = 256, quality = 95, threads = 2, shard_size = 1024;
  int64_t limit = 0;  // per split, for trials (0 = all)
  bool quiet = false;
};

struct PrepareReport {
  int64_t train_images = 0, val_images = 0, shards_written = 0, shards_kept = 0;
  std::vector<std::string> skipped;  // "path: reason"
  double seconds = 0, bytes = 0;
};

PrepareReport prepare(const PrepareOptions& o);

// Decodes `count` training samples from prepared shards the way training does (224 crop, flip,
// mean subtraction) on one thread; returns samples per second.
double measure_decode(const std::string& out_dir, int count, int crop);

}  // namespace zf
