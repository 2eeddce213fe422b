// A libFuzzer custom mutator for the HDF5 targets: it changes only the raw data of the file's
// contiguous datasets and never a byte of HDF5's own metadata (superblock, object headers with
// their attributes, B-trees, heaps). libhdf5 1.10 is not hardened against crafted metadata (it
// crashes inside itself on some), and HDF5 files are trusted input (README); what this project's
// readers must survive is any content of the datasets they read: labels, offsets, JPEG bytes,
// pixels, parameters, metrics, strings. Include it in exactly one translation unit per target.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace zf::fuzz {

using Region = std::pair<size_t, size_t>;  // [offset, offset + size) of one dataset's raw data

namespace detail {
struct Visit {
  size_t file_size;
  std::vector<Region>* out;
};
inline herr_t add_dataset(hid_t group, const char* name, const H5L_info_t*, void* p) {
  auto* v = static_cast<Visit*>(p);
  if (H5Oexists_by_name(group, name, H5P_DEFAULT) <= 0) return 0;
  H5O_info_t info;
  if (H5Oget_info_by_name(group, name, &info, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET)
    return 0;
  const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
  if (d < 0) return 0;
  const haddr_t off = H5Dget_offset(d);  // HADDR_UNDEF unless contiguous and allocated
  const hsize_t n = H5Dget_storage_size(d);
  H5Dclose(d);
  if (off != HADDR_UNDEF && n > 0 && off + n <= v->file_size)
    v->out->push_back({static_cast<size_t>(off), static_cast<size_t>(n)});
  return 0;
}
}  // namespace detail

// The payload regions of the HDF5 file image, read through libhdf5's in-memory driver (the image
// is always one of our writers' files with only payload bytes changed, so its metadata is sound).
inline std::vector<Region> payload_regions(const uint8_t* data, size_t size) {
  std::vector<Region> regions;
  if (size < 8 || std::memcmp(data, "\x89HDF\r\n\x1a\n", 8) != 0) return regions;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0);
  H5Pset_file_image(fapl, const_cast<uint8_t*>(data), size);
  const hid_t f = H5Fopen("payload-scan", H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (f < 0) return regions;
  detail::Visit v{size, &regions};
  H5Lvisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, detail::add_dataset, &v);
  H5Fclose(f);
  return regions;
}

// Mutates one payload region in place (libFuzzer's own mutations on that slice, size kept).
inline size_t mutate_payload(uint8_t* data, size_t size, unsigned seed) {
  const std::vector<Region> regions = payload_regions(data, size);
  if (regions.empty()) return size;
  std::minstd_rand rng(seed);
  const Region r = regions[rng() % regions.size()];
  std::vector<uint8_t> slice(data + r.first, data + r.first + r.second);
  const size_t n = LLVMFuzzerMutate(slice.data(), slice.size(), slice.size());
  std::memcpy(data + r.first, slice.data(), n);  // a shorter result keeps the old tail
  return size;
}

}  // namespace zf::fuzz

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return zf::fuzz::mutate_payload(data, size, seed);
}

// Crossing two files would splice metadata: take the first file and mutate its payload instead.
extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1, const uint8_t*,
                                            size_t, uint8_t* out, size_t max_out_size,
                                            unsigned seed) {
  if (size1 > max_out_size) return 0;
  std::memcpy(out, data1, size1);
  return zf::fuzz::mutate_payload(out, size1, seed);
}
