// JPEG and PNG decoding/encoding and resizing (see image_io.h).
#include "train/image_io.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/check.h"

namespace zf {

std::vector<uint8_t> read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  ZF_CHECK(f, "%s: cannot open (%s)", path.c_str(), std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) data.insert(data.end(), buf, buf + n);
  ZF_CHECK(!std::ferror(f.get()), "%s: read error", path.c_str());
  return data;
}

namespace {

Image convert_channels(Image img, int channels) {
  if (channels == 0 || channels == img.channels) return img;
  Image out;
  out.width = img.width, out.height = img.height, out.channels = channels;
  out.pixels.resize(static_cast<size_t>(img.width) * img.height * channels);
  const size_t n = static_cast<size_t>(img.width) * img.height;
  for (size_t i = 0; i < n; ++i) {
    if (channels == 3) {  // gray -> RGB
      const uint8_t g = img.pixels[i];
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = g;
    } else {  // RGB -> gray (ITU-R BT.601 luma)
      const uint8_t* p = &img.pixels[3 * i];
      out.pixels[i] = static_cast<uint8_t>(std::lround(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]));
    }
  }
  return out;
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int channels,
                  int min_side) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  ZF_CHECK(tj, "%s: cannot start the JPEG decoder", name.c_str());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  ZF_CHECK(tjDecompressHeader3(tj.get(), data, static_cast<unsigned long>(size), &w, &h, &subsamp,
                               &colorspace) == 0,
           "%s: corrupt JPEG header (%s)", name.c_str(), tjGetErrorStr2(tj.get()));
  ZF_CHECK(w > 0 && h > 0 && static_cast<int64_t>(w) * h < (1LL << 28), "%s: JPEG of %dx%d pixels",
           name.c_str(), w, h);
  // DCT-domain downscaling: the smallest of 1/8 .. 1 that keeps the shorter side >= min_side.
  if (min_side > 0) {
    int n = 0;
    const tjscalingfactor* f = tjGetScalingFactors(&n);
    int best_w = w, best_h = h;
    for (int i = 0; i < n; ++i) {
      if (f[i].num > f[i].denom) continue;
      const int sw = TJSCALED(w, f[i]), sh = TJSCALED(h, f[i]);
      if (std::min(sw, sh) >= min_side && sw * sh < best_w * best_h) best_w = sw, best_h = sh;
    }
    w = best_w, h = best_h;
  }
  Image img;
  img.width = w, img.height = h;
  const bool gray = colorspace == TJCS_GRAY,
             cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  img.channels = gray ? 1 : 3;
  std::vector<uint8_t> buf(static_cast<size_t>(w) * h * (cmyk ? 4 : img.channels));
  // libjpeg-turbo converts YCbCr to RGB itself; CMYK/YCCK come out as CMYK and are converted below.
  // Truncated files raise an error here: the pixels would be gray garbage.
  int rc = tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), buf.data(), w, 0, h,
                         gray   ? TJPF_GRAY
                         : cmyk ? TJPF_CMYK
                                : TJPF_RGB,
                         TJFLAG_ACCURATEDCT);
  ZF_CHECK(rc == 0, "%s: corrupt or truncated JPEG (%s)", name.c_str(), tjGetErrorStr2(tj.get()));
  if (cmyk) {
    // Adobe's CMYK JPEGs (as in ImageNet) store inverted ink values: R = C*K/255, and so on.
    img.pixels.resize(static_cast<size_t>(w) * h * 3);
    for (size_t i = 0, n = static_cast<size_t>(w) * h; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        img.pixels[3 * i + c] = static_cast<uint8_t>((buf[4 * i + c] * buf[4 * i + 3] + 127) / 255);
  } else {
    img.pixels = std::move(buf);
  }
  return convert_channels(std::move(img), channels);
}

struct PngReadState {
  const uint8_t* data;
  size_t size, pos;
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (st->pos + n > st->size) png_error(png, "truncated PNG");
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

void png_error_throw(png_structp png, png_const_charp msg) {
  throw Error(std::string(static_cast<const char*>(png_get_error_ptr(png))) + ": corrupt PNG (" +
              msg + ")");
}
void png_warning_ignore(png_structp, png_const_charp) {}

Image decode_png(const uint8_t* data, size_t size, const std::string& name, int channels) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, const_cast<char*>(name.c_str()),
                                           png_error_throw, png_warning_ignore);
  ZF_CHECK(png, "%s: cannot start the PNG decoder", name.c_str());
  png_infop info = png_create_info_struct(png);
  Image img;
  try {
    PngReadState st{data, size, 0};
    png_set_read_fn(png, &st, png_read_mem);
    png_read_info(png, info);
    png_set_expand(png);  // palette -> RGB, low-bit gray -> 8 bit, tRNS -> alpha
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_read_update_info(png, info);
    img.width = static_cast<int>(png_get_image_width(png, info));
    img.height = static_cast<int>(png_get_image_height(png, info));
    const int ct = png_get_color_type(png, info);
    img.channels = (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) ? 1 : 3;
    ZF_CHECK(static_cast<int64_t>(img.width) * img.height < (1LL << 28), "%s: PNG of %dx%d pixels",
             name.c_str(), img.width, img.height);
    ZF_CHECK(png_get_rowbytes(png, info) == static_cast<size_t>(img.width) * img.channels,
             "%s: unsupported PNG layout", name.c_str());
    img.pixels.resize(static_cast<size_t>(img.width) * img.height * img.channels);
    std::vector<png_bytep> rows(img.height);
    for (int y = 0; y < img.height; ++y)
      rows[y] = &img.pixels[static_cast<size_t>(y) * img.width * img.channels];
    png_read_image(png, rows.data());
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return convert_channels(std::move(img), channels);
}

void png_write_file(png_structp png, png_bytep data, png_size_t n) {
  auto* f = static_cast<std::FILE*>(png_get_io_ptr(png));
  if (std::fwrite(data, 1, n, f) != n) png_error(png, "write failed");
}
void png_flush_file(png_structp png) {
  std::fflush(static_cast<std::FILE*>(png_get_io_ptr(png)));
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& name, int channels,
                   int min_side) {
  ZF_CHECK(size >= 8, "%s: not an image (only %zu bytes)", name.c_str(), size);
  if (data[0] == 0xFF && data[1] == 0xD8) return decode_jpeg(data, size, name, channels, min_side);
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (std::memcmp(data, kPng, 8) == 0) return decode_png(data, size, name, channels);
  ZF_THROW("%s: not a JPEG or PNG image", name.c_str());
}

Image decode_image_file(const std::string& path, int channels, int min_side) {
  std::vector<uint8_t> data = read_file(path);
  return decode_image(data.data(), data.size(), path, channels, min_side);
}

void write_png(const std::string& path, const Image& img) {
  ZF_CHECK(img.channels == 1 || img.channels == 3, "%s: cannot write %d channels as PNG",
           path.c_str(), img.channels);
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  ZF_CHECK(f, "%s: cannot create (%s)", tmp.c_str(), std::strerror(errno));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, const_cast<char*>(path.c_str()),
                                            png_error_throw, png_warning_ignore);
  png_infop info = png_create_info_struct(png);
  try {
    png_set_write_fn(png, f, png_write_file, png_flush_file);
    png_set_IHDR(png, info, img.width, img.height, 8,
                 img.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img.height; ++y)
      png_write_row(png, const_cast<png_bytep>(
                             &img.pixels[static_cast<size_t>(y) * img.width * img.channels]));
    png_write_end(png, nullptr);
  } catch (...) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  png_destroy_write_struct(&png, &info);
  ZF_CHECK(std::fclose(f) == 0, "%s: write failed", tmp.c_str());
  ZF_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "%s: cannot rename into place",
           path.c_str());
}

std::vector<uint8_t> encode_jpeg(const Image& img, int quality) {
  ZF_CHECK(img.channels == 1 || img.channels == 3, "JPEG encoding of %d channels", img.channels);
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitCompress(), tjDestroy);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  int rc = tjCompress2(tj.get(), img.pixels.data(), img.width, 0, img.height,
                       img.channels == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                       img.channels == 1 ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
  ZF_CHECK(rc == 0, "JPEG encoding failed (%s)", tjGetErrorStr2(tj.get()));
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  return out;
}

Image resize_image(const Image& src, int width, int height) {
  ZF_CHECK(width > 0 && height > 0, "resize to %dx%d", width, height);
  Image in = src;
  // Halve with a 2x2 box while more than 2x too large, so bilinear sampling does not alias.
  while (in.width >= 2 * width * 2 || in.height >= 2 * height * 2) {
    Image h;
    h.width = std::max(1, in.width / 2), h.height = std::max(1, in.height / 2),
    h.channels = in.channels;
    h.pixels.resize(static_cast<size_t>(h.width) * h.height * h.channels);
    for (int y = 0; y < h.height; ++y)
      for (int x = 0; x < h.width; ++x)
        for (int c = 0; c < h.channels; ++c) {
          int y1 = std::min(2 * y + 1, in.height - 1), x1 = std::min(2 * x + 1, in.width - 1);
          int s =
              in.at(2 * y, 2 * x, c) + in.at(2 * y, x1, c) + in.at(y1, 2 * x, c) + in.at(y1, x1, c);
          h.at(y, x, c) = static_cast<uint8_t>((s + 2) / 4);
        }
    in = std::move(h);
  }
  Image out;
  out.width = width, out.height = height, out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(width) * height * in.channels);
  const double sy = static_cast<double>(in.height) / height,
               sx = static_cast<double>(in.width) / width;
  for (int y = 0; y < height; ++y) {
    double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, in.height - 1.0);
    int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, in.height - 1);
    double wy = fy - y0;
    for (int x = 0; x < width; ++x) {
      double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, in.width - 1.0);
      int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, in.width - 1);
      double wx = fx - x0;
      for (int c = 0; c < in.channels; ++c) {
        double v = (1 - wy) * ((1 - wx) * in.at(y0, x0, c) + wx * in.at(y0, x1, c)) +
                   wy * ((1 - wx) * in.at(y1, x0, c) + wx * in.at(y1, x1, c));
        out.at(y, x, c) = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

Image resize_center_square(const Image& src, int size) {
  const bool wide = src.width >= src.height;
  const int w = wide ? std::max(size, static_cast<int>(std::lround(static_cast<double>(src.width) *
                                                                   size / src.height)))
                     : size;
  const int h = wide ? size
                     : std::max(size, static_cast<int>(std::lround(static_cast<double>(src.height) *
                                                                   size / src.width)));
  Image r = resize_image(src, w, h);
  Image out;
  out.width = out.height = size, out.channels = r.channels;
  out.pixels.resize(static_cast<size_t>(size) * size * r.channels);
  const int ox = (w - size) / 2, oy = (h - size) / 2;
  for (int y = 0; y < size; ++y)
    std::memcpy(&out.pixels[static_cast<size_t>(y) * size * r.channels],
                &r.pixels[(static_cast<size_t>(y + oy) * w + ox) * r.channels],
                static_cast<size_t>(size) * r.channels);
  return out;
}

}  // namespace zf
