// libFuzzer target: JPEG and PNG decoding (train/image_io.cpp decode_image, by content), in the
// two ways the project calls it: to RGB at full size, and to gray with DCT-domain downscaling; then
// the resize and center crop that the ImageFolder reader applies.
#include <cstdint>

#include "tests/fuzz/fuzz_util.h"
#include "train/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zf::fuzz::refusal_ok([&] {
    const zf::Image rgb = zf::decode_image(data, size, "fuzz", 3);
    if (rgb.pixels.size() != static_cast<size_t>(rgb.width) * rgb.height * 3) std::abort();
    const zf::Image square = zf::resize_center_square(rgb, 7);
    if (square.pixels.size() != 7 * 7 * 3) std::abort();
  });
  zf::fuzz::refusal_ok([&] {
    const zf::Image gray = zf::decode_image(data, size, "fuzz", 1, 4);
    if (gray.pixels.size() != static_cast<size_t>(gray.width) * gray.height) std::abort();
  });
  return 0;
}
