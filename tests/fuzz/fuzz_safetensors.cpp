// libFuzzer target: the safetensors reader (core/io/safetensors.h), header and tensor reads, from
// memory. Every tensor the header accepts is read (floating-point ones converted; others must be
// refused with a zf::Error), so a byte range the checks let through past the end would be found.
#include <cstdint>
#include <string>

#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zf::fuzz::refusal_ok([&] {
    zf::SafetensorsFile f(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    size_t sum = f.metadata().size();
    // An accepted tensor's bytes lie inside the input, so reading each costs at most its size.
    for (const zf::SafeTensor& t : f.tensors())
      zf::fuzz::refusal_ok([&] { sum += f.read_f32(t).size(); });
    if (sum > (size_t{1} << 40)) std::abort();
  });
  return 0;
}
