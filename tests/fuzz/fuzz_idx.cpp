// libFuzzer target: the IDX readers (train/dataset.cpp open_idx: images + labels, gzipped or not).
// Input: a 2-byte little-endian length L, then the labels file (L bytes), then the images file.
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_util.h"
#include "train/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t l = std::min<size_t>(data[0] | (size_t{data[1]} << 8), size - 2);
  const std::string labels = zf::fuzz::write_scratch("f-labels", data + 2, l);
  const std::string images = zf::fuzz::write_scratch("f-images", data + 2 + l, size - 2 - l);
  zf::fuzz::refusal_ok([&] {
    std::unique_ptr<zf::Dataset> ds = zf::open_idx(images, labels);
    std::vector<uint8_t> img(ds->image_bytes());
    int64_t sum = ds->num_classes();
    for (int64_t i = 0; i < std::min<int64_t>(ds->size(), 16); ++i) {
      sum += ds->label(i);
      ds->image(i, img.data());
    }
    for (const auto& n : ds->class_names()) sum += static_cast<int64_t>(n.size());
    if (sum < 0) std::abort();  // labels are bytes: never negative
  });
  return 0;
}
