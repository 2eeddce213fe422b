// The analyses' figure pieces (see figure.h).
#include "visualize/analyses/figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "visualize/render.h"

namespace zf {

namespace {

// viridis sampled at nine evenly spaced points, interpolated linearly between them.
constexpr Rgb kViridis[] = {{68, 1, 84},    {71, 44, 122},  {59, 82, 139},
                            {44, 113, 142}, {33, 145, 140}, {39, 173, 129},
                            {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
// tab10's colours; later classes get hues spread by the golden ratio.
constexpr Rgb kCategories[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                               {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                               {188, 189, 34},  {23, 190, 207}};

void set(Image& img, int y, int x, Rgb c) {
  if (y < 0 || y >= img.height || x < 0 || x >= img.width) return;
  for (int k = 0; k < std::min(img.channels, 3); ++k) img.at(y, x, k) = c[k];
}

void line(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    set(img, y0, x0, c);
    set(img, y0 + 1, x0, c);  // two pixels thick
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

Rgb colormap(float t) {
  if (!(t > 0.f)) t = 0.f;  // NaN too
  t = std::min(t, 1.f) * 8.f;
  const int i = std::min(static_cast<int>(t), 7);
  const float f = t - static_cast<float>(i);
  Rgb c;
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<uint8_t>(
        std::lround(kViridis[i][k] + f * (kViridis[i + 1][k] - kViridis[i][k])));
  return c;
}

Rgb category_colour(int i) {
  if (i >= 0 && i < 10) return kCategories[i];
  const float h = std::fmod(0.6180339f * static_cast<float>(i), 1.f) * 6.f;
  const int sector = static_cast<int>(h);
  const float f = h - static_cast<float>(sector);
  const uint8_t hi = 220, lo = 60;
  const auto mid = static_cast<uint8_t>(lo + f * (hi - lo));
  const auto down = static_cast<uint8_t>(hi - f * (hi - lo));
  switch (sector % 6) {
    case 0:
      return {hi, mid, lo};
    case 1:
      return {down, hi, lo};
    case 2:
      return {lo, hi, mid};
    case 3:
      return {lo, down, hi};
    case 4:
      return {mid, lo, hi};
    default:
      return {hi, lo, down};
  }
}

Image to_rgb(const Image& img) {
  if (img.channels == 3) return img;
  Image out = blank_image(img.width, img.height, 3, 0);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int k = 0; k < 3; ++k) out.at(y, x, k) = img.at(y, x, 0);
  return out;
}

Image heatmap(const float* v, int h, int w, float lo, float hi, int cell) {
  Image img = blank_image(w * cell, h * cell, 3, 0);
  const float span = hi > lo ? hi - lo : 1.f;
  for (int y = 0; y < h * cell; ++y)
    for (int x = 0; x < w * cell; ++x)
      set(img, y, x, colormap((v[(y / cell) * w + x / cell] - lo) / span));
  return img;
}

Image category_map(const int* cls, int h, int w, int cell) {
  Image img = blank_image(w * cell, h * cell, 3, 0);
  for (int y = 0; y < h * cell; ++y)
    for (int x = 0; x < w * cell; ++x)
      set(img, y, x, category_colour(cls[(y / cell) * w + x / cell]));
  return img;
}

Image colour_bar(float lo, float hi, int height) {
  const std::string top = number(hi), bottom = number(lo);
  const int bar = 12, text = std::max(text_width(top), text_width(bottom));
  Image img = blank_image(bar + 4 + text, height, 3, 255);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < bar; ++x)
      set(img, y, x, colormap(1.f - static_cast<float>(y) / std::max(height - 1, 1)));
  draw_text(img, bar + 4, 0, top, 0);
  draw_text(img, bar + 4, height - 7, bottom, 0);
  return img;
}

Image legend(const std::vector<int>& classes, const std::vector<std::string>& names) {
  int width = 0;
  for (int c : classes) width = std::max(width, text_width(names.at(c)));
  Image img =
      blank_image(14 + width, std::max<int>(1, static_cast<int>(classes.size()) * 11), 3, 255);
  for (size_t i = 0; i < classes.size(); ++i) {
    const int y = static_cast<int>(i) * 11;
    for (int dy = 0; dy < 9; ++dy)
      for (int dx = 0; dx < 9; ++dx) set(img, y + dy, dx, category_colour(classes[i]));
    draw_text(img, 14, y + 1, names[classes[i]], 0);
  }
  return img;
}

void draw_rect(Image& img, int x, int y, int w, int h, Rgb colour, int thick) {
  for (int t = 0; t < thick; ++t) {
    for (int i = x; i < x + w; ++i) set(img, y + t, i, colour), set(img, y + h - 1 - t, i, colour);
    for (int j = y; j < y + h; ++j) set(img, j, x + t, colour), set(img, j, x + w - 1 - t, colour);
  }
}

Image line_plot(const std::vector<float>& xs, const std::vector<Series>& series,
                const std::string& title, int width, int height, float ylo, float yhi) {
  if (!(ylo < yhi)) {
    ylo = 0.f, yhi = 0.f;
    bool first = true;
    for (const Series& s : series)
      for (float v : s.y) {
        if (!std::isfinite(v)) continue;
        ylo = first ? v : std::min(ylo, v), yhi = first ? v : std::max(yhi, v);
        first = false;
      }
    if (!(yhi > ylo)) yhi = ylo + 1.f;
  }
  Image img = blank_image(width, height, 3, 255);
  const int left = 40, top = 12, bottom = 12, right = 6;
  const int pw = std::max(width - left - right, 2), ph = std::max(height - top - bottom, 2);
  draw_text(img, left, 2, title, 0);
  const Rgb black{0, 0, 0};
  line(img, left, top, left, top + ph, black);
  line(img, left, top + ph, left + pw, top + ph, black);
  draw_text(img, 0, top, number(yhi), 0);
  draw_text(img, 0, top + ph - 7, number(ylo), 0);
  if (!xs.empty()) {
    draw_text(img, left, top + ph + 4, number(xs.front()), 0);
    const std::string last = number(xs.back());
    draw_text(img, left + pw - text_width(last), top + ph + 4, last, 0);
  }
  const float x0 = xs.empty() ? 0.f : xs.front(), x1 = xs.empty() ? 1.f : xs.back();
  auto px = [&](float x) {
    return left + static_cast<int>(std::lround((x - x0) / (x1 != x0 ? x1 - x0 : 1.f) * pw));
  };
  auto py = [&](float y) {
    const float t = std::clamp((y - ylo) / (yhi - ylo), 0.f, 1.f);
    return top + ph - static_cast<int>(std::lround(t * ph));
  };
  for (const Series& s : series)
    for (size_t i = 1; i < s.y.size() && i < xs.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i]))
        line(img, px(xs[i - 1]), py(s.y[i - 1]), px(xs[i]), py(s.y[i]), s.colour);
  return img;
}

Image titled(const Image& img, const std::string& title) {
  Image out = blank_image(std::max(img.width, text_width(title)), img.height + 11, 3, 255);
  draw_text(out, 0, 0, title, 0);
  paste(out, to_rgb(img), 0, 11);
  return out;
}

Image hstack(const std::vector<Image>& panels, const std::vector<std::string>& titles, int gap) {
  std::vector<Image> t;
  int width = 0, height = 0;
  for (size_t i = 0; i < panels.size(); ++i) {
    t.push_back(i < titles.size() && !titles[i].empty() ? titled(panels[i], titles[i])
                                                        : to_rgb(panels[i]));
    width += t.back().width + (i ? gap : 0);
    height = std::max(height, t.back().height);
  }
  Image out = blank_image(std::max(width, 1), std::max(height, 1), 3, 255);
  int x = 0;
  for (const Image& p : t) {
    paste(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

Image vstack(const std::vector<Image>& rows, int gap) {
  int width = 0, height = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    width = std::max(width, rows[i].width);
    height += rows[i].height + (i ? gap : 0);
  }
  Image out = blank_image(std::max(width, 1), std::max(height, 1), 3, 255);
  int y = 0;
  for (const Image& r : rows) {
    paste(out, to_rgb(r), 0, y);
    y += r.height + gap;
  }
  return out;
}

}  // namespace zf
