// Image files: JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB or grayscale, PNG
// encoding, and a bilinear resize. Decoding errors name the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zf {

// 8-bit pixels, interleaved (HWC), channels 1 (gray) or 3 (RGB).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
  uint8_t& at(int y, int x, int c) {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + c];
  }
  uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + c];
  }
};

// Decodes by content (JPEG or PNG magic), whatever the file's extension says. `channels` 3 converts
// gray and CMYK to RGB, 1 converts to gray, 0 keeps the file's own (gray or RGB). min_side > 0 lets
// a JPEG decode at a reduced scale (1/2, 1/4, 1/8 in the DCT domain) whose shorter side is still >=
// it.
Image decode_image_file(const std::string& path, int channels = 3, int min_side = 0);
Image decode_image(const uint8_t* data, size_t size, const std::string& name, int channels = 3,
                   int min_side = 0);
std::vector<uint8_t> read_file(const std::string& path);

void write_png(const std::string& path, const Image& img);
std::vector<uint8_t> encode_jpeg(const Image& img, int quality);

// Bilinear resize (with a box prefilter when shrinking by more than 2x, to avoid aliasing).
Image resize_image(const Image& src, int width, int height);
// Resize the shorter side to `size` and cut the central size x size square.
Image resize_center_square(const Image& src, int size);

}  // namespace zf
