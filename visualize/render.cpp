// Display scaling, drawing and the figures (see render.h).
#include "visualize/render.h"

#include <algorithm>
#include <cmath>

namespace zf {

Image blank_image(int width, int height, int channels, uint8_t value) {
  Image img;
  img.width = width, img.height = height, img.channels = channels;
  img.pixels.assign(static_cast<size_t>(width) * height * channels, value);
  return img;
}

Image display_projection(const float* chw, int c, int h, int w, int zoom) {
  float m = 0.f;
  for (int i = 0; i < c * h * w; ++i) m = std::max(m, std::fabs(chw[i]));
  const float s = m > 0.f ? 127.f / m : 0.f;
  Image img = blank_image(w * zoom, h * zoom, c, 128);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x)
      for (int k = 0; k < c; ++k)
        img.at(y, x, k) = static_cast<uint8_t>(
            std::lround(128.f + s * chw[(static_cast<size_t>(k) * h + y / zoom) * w + x / zoom]));
  return img;
}

Image display_signed(const float* chw, int c, int h, int w, int zoom, float max_abs) {
  const float s = max_abs > 0.f ? 127.f / max_abs : 0.f;
  Image img = blank_image(w * zoom, h * zoom, c, 128);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x)
      for (int k = 0; k < c; ++k) {
        const float v = 128.f + s * chw[(static_cast<size_t>(k) * h + y / zoom) * w + x / zoom];
        img.at(y, x, k) = static_cast<uint8_t>(std::lround(std::min(std::max(v, 0.f), 255.f)));
      }
  return img;
}

Image display_patch(const uint8_t* chw, int c, int h, int w, int zoom) {
  Image img = blank_image(w * zoom, h * zoom, c, 0);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x)
      for (int k = 0; k < c; ++k)
        img.at(y, x, k) = chw[(static_cast<size_t>(k) * h + y / zoom) * w + x / zoom];
  return img;
}

void paste(Image& dst, const Image& src, int x0, int y0) {
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x) {
      const int dy = y0 + y, dx = x0 + x;
      if (dy < 0 || dy >= dst.height || dx < 0 || dx >= dst.width) continue;
      for (int c = 0; c < dst.channels; ++c)
        dst.at(dy, dx, c) = src.at(y, x, src.channels == dst.channels ? c : 0);
    }
}

namespace {
// 5x7 glyphs, one byte per row, bit 4 = leftmost column.
struct Glyph {
  char ch;
  uint8_t rows[7];
};
const Glyph kFont[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
    {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
    {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}},
    {'c', {0, 0, 14, 16, 16, 17, 14}},   {'d', {1, 1, 13, 19, 17, 17, 15}},
    {'e', {0, 0, 14, 17, 31, 16, 14}},   {'f', {6, 9, 8, 28, 8, 8, 8}},
    {'g', {0, 15, 17, 17, 15, 1, 14}},   {'h', {16, 16, 22, 25, 17, 17, 17}},
    {'i', {4, 0, 12, 4, 4, 4, 14}},      {'j', {2, 0, 6, 2, 2, 18, 12}},
    {'k', {16, 16, 18, 20, 24, 20, 18}}, {'l', {12, 4, 4, 4, 4, 4, 14}},
    {'m', {0, 0, 26, 21, 21, 17, 17}},   {'n', {0, 0, 22, 25, 17, 17, 17}},
    {'o', {0, 0, 14, 17, 17, 17, 14}},   {'p', {0, 0, 30, 17, 30, 16, 16}},
    {'q', {0, 0, 13, 19, 15, 1, 1}},     {'r', {0, 0, 22, 25, 16, 16, 16}},
    {'s', {0, 0, 14, 16, 14, 1, 30}},    {'t', {8, 8, 28, 8, 8, 9, 6}},
    {'u', {0, 0, 17, 17, 17, 19, 13}},   {'v', {0, 0, 17, 17, 17, 10, 4}},
    {'w', {0, 0, 17, 17, 21, 21, 10}},   {'x', {0, 0, 17, 10, 4, 10, 17}},
    {'y', {0, 0, 17, 17, 15, 1, 14}},    {'z', {0, 0, 31, 2, 4, 8, 31}},
    {'-', {0, 0, 0, 31, 0, 0, 0}},       {':', {0, 12, 12, 0, 12, 12, 0}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {' ', {0, 0, 0, 0, 0, 0, 0}},
    {'/', {1, 1, 2, 4, 8, 16, 16}},      {'(', {2, 4, 8, 8, 8, 4, 2}},
    {')', {8, 4, 2, 2, 2, 4, 8}},        {'+', {0, 4, 4, 31, 4, 4, 0}},
    {'=', {0, 0, 31, 0, 31, 0, 0}},      {',', {0, 0, 0, 0, 12, 4, 8}},
    {'_', {0, 0, 0, 0, 0, 0, 31}},       {'%', {24, 25, 2, 4, 8, 19, 3}},
    {'#', {10, 10, 31, 10, 31, 10, 10}}, {'<', {2, 4, 8, 16, 8, 4, 2}},
    {'>', {8, 4, 2, 1, 2, 4, 8}},
};
const Glyph* glyph(char c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const Glyph& g : kFont)
    if (g.ch == c) return &g;
  return nullptr;
}

// One glyph with its top-left corner at (x0, y0), each font pixel a scale x scale block.
void draw_glyph(Image& img, int x0, int y0, const Glyph& g, uint8_t value, int scale) {
  for (int r = 0; r < 7; ++r)
    for (int col = 0; col < 5; ++col) {
      if (!(g.rows[r] & (16 >> col))) continue;
      for (int sy = 0; sy < scale; ++sy)
        for (int sx = 0; sx < scale; ++sx) {
          const int y = y0 + r * scale + sy, x = x0 + col * scale + sx;
          if (y >= 0 && y < img.height && x >= 0 && x < img.width)
            for (int c = 0; c < img.channels; ++c) img.at(y, x, c) = value;
        }
    }
}
}  // namespace

int text_width(const std::string& text, int scale) {
  return static_cast<int>(text.size()) * 6 * scale;
}

void draw_text(Image& img, int x0, int y0, const std::string& text, uint8_t value, int scale) {
  for (size_t i = 0; i < text.size(); ++i)
    if (const Glyph* g = glyph(text[i]))
      draw_glyph(img, x0 + static_cast<int>(i) * 6 * scale, y0, *g, value, scale);
}

// ---- figures ------------------------------------------------------------------------------------

Image fig2_montage(const std::vector<int>& shown, const std::vector<int>& ids,
                   const std::vector<Projection>& pr, int k, int channels, int field,
                   const std::string& title) {
  const int C = channels;
  const int g = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(k))));
  const int zoom = std::max(1, (48 + field - 1) / field), cell = field * zoom + 2;
  const int block_w = 2 * g * cell + 12, block_h = g * cell + 14, per_row = 4;
  const int rows = (static_cast<int>(shown.size()) + per_row - 1) / per_row;
  Image img = blank_image(per_row * block_w + 8, rows * block_h + 24, C, 255);
  draw_text(img, 6, 6, title, 0, 2);
  for (size_t s = 0; s < shown.size(); ++s) {
    const int fi = shown[s], bx = 4 + static_cast<int>(s % per_row) * block_w,
              by = 24 + static_cast<int>(s / per_row) * block_h;
    draw_text(img, bx, by, "f" + std::to_string(ids[fi]), 0);
    for (int j = 0; j < k; ++j) {
      const Projection& p = pr[static_cast<size_t>(fi) * k + j];
      const int cx = (j % g) * cell, cy = 10 + (j / g) * cell;
      paste(img, display_projection(p.proj.data(), C, field, field, zoom), bx + cx, by + cy);
      paste(img, display_patch(p.patch.data(), C, field, field, zoom), bx + g * cell + 6 + cx,
            by + cy);
    }
  }
  return img;
}

Image fig4_grid(const std::string& title, const std::vector<int>& epochs,
                const std::vector<int>& features, const std::vector<std::vector<Projection>>& proj,
                int channels, int field) {
  const int C = channels, F = static_cast<int>(features.size());
  const int E = static_cast<int>(epochs.size());
  const int zoom = std::max(1, (64 + field - 1) / field), cell = field * zoom + 4;
  const int left = 40, top = 30;
  Image img = blank_image(left + E * cell + 4, top + F * cell + 4, C, 255);
  draw_text(img, 4, 4, title, 0, 2);
  for (int e = 0; e < E; ++e)
    draw_text(img, left + e * cell, top - 10, "ep " + std::to_string(epochs[e]), 0);
  for (int f = 0; f < F; ++f) {
    draw_text(img, 4, top + f * cell + cell / 2 - 4, "f" + std::to_string(features[f]), 0);
    for (int e = 0; e < E; ++e) {
      const Projection& p = proj[e][f];
      paste(img, display_projection(p.proj.data(), C, field, field, zoom), left + e * cell,
            top + f * cell);
    }
  }
  return img;
}

Image image_strip(const std::string& title, const uint8_t* pixels, int C, int H, int W,
                  const std::vector<ProjectRequest>& req,
                  const std::vector<std::vector<float>>& full) {
  const int zoom = std::max(1, 96 / H), cell = W * zoom + 4;
  Image img = blank_image(static_cast<int>(req.size() + 1) * cell + 4, H * zoom + 20, C, 255);
  draw_text(img, 4, 2, title, 0);
  paste(img, display_patch(pixels, C, H, W, zoom), 4, 14);
  for (size_t r = 0; r < req.size(); ++r) {
    const int x = 4 + static_cast<int>(r + 1) * cell;
    paste(img, display_projection(full[r].data(), C, H, W, zoom), x, 14);
    draw_text(img, x, 2, "f" + std::to_string(req[r].feature), 0);
  }
  return img;
}

Image filter_row(const Tensor& w, const std::string& label, int zoom) {
  const int F = static_cast<int>(w.dim(0)), C = static_cast<int>(w.dim(1)),
            k = static_cast<int>(w.dim(2));
  const int shown = C == 3 ? 3 : 1, cell = k * zoom + 2, label_w = 64;
  Image row = blank_image(label_w + F * cell, k * zoom + 2, shown, 255);
  draw_text(row, 2, 2, label, 0);
  for (int f = 0; f < F; ++f)
    paste(row, display_projection(w.f32() + static_cast<size_t>(f) * C * k * k, shown, k, k, zoom),
          label_w + f * cell, 1);
  return row;
}

Image stack_rows(const std::vector<Image>& rows) {
  int w = 0, h = 0;
  for (const Image& r : rows) w = std::max(w, r.width), h += r.height + 2;
  Image img = blank_image(w, h, rows.empty() ? 1 : rows[0].channels, 255);
  int y = 0;
  for (const Image& r : rows) paste(img, r, 0, y), y += r.height + 2;
  return img;
}

}  // namespace zf
