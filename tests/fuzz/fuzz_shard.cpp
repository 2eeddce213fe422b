// libFuzzer target: packed shards (train/shards.cpp): the input is written to a file and opened as
// a data set (open_hdf5), its summary read (read_shard_summary), and one training batch built from
// it by the Loader (pad 2, random crops and flips, per-channel standardization), which decodes the
// JPEG store's images. Mutations touch dataset payloads only (fuzz_h5_payload.h).
#include <cstdint>

#include "tests/fuzz/fuzz_h5_payload.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/loader.h"
#include "train/shards.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = zf::fuzz::write_scratch("s.h5", data, size);
  zf::fuzz::refusal_ok([&] { zf::read_shard_summary(path); });
  zf::fuzz::refusal_ok([&] { zf::shard_is_complete(path, "k"); });
  zf::fuzz::refusal_ok([&] {
    std::unique_ptr<zf::Dataset> ds = zf::open_hdf5(path, 8);
    zf::TransformSpec t;
    t.pad = 2, t.flip = true, t.normalize = zf::Normalize::ChannelStandardize;
    const zf::Normalizer norm = zf::make_normalizer(*ds, t, 8);
    zf::Loader::Options o;
    o.batch = 2, o.train = true, o.threads = 1, o.prefetch = 2, o.drop_last = false;
    zf::Loader loader(*ds, t, norm, o);
    loader.next();
  });
  return 0;
}
