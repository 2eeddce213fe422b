// Pieces of the analyses' figures, in RGB: a perceptually ordered colour map (dark blue -> green ->
// yellow, as viridis) for value maps, a categorical palette for class maps, colour bars, legends,
// outlined rectangles, labelled line plots, and a layout helper that places panels in rows with
// titles. Text uses render.h's bitmap font.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "train/image_io.h"

namespace zf {

using Rgb = std::array<uint8_t, 3>;

Rgb colormap(float t);           // t in [0, 1], clamped
Rgb category_colour(int i);      // distinct colours for classes 0, 1, 2, ...
Image to_rgb(const Image& img);  // gray -> RGB; RGB unchanged

// A value map [h, w] as colours over [lo, hi], each value a cell x cell block.
Image heatmap(const float* v, int h, int w, float lo, float hi, int cell);
// A class map [h, w] in category colours.
Image category_map(const int* cls, int h, int w, int cell);
// A vertical colour bar `height` pixels tall with lo and hi written beside it.
Image colour_bar(float lo, float hi, int height);
// A legend: one colour swatch and name per entry.
Image legend(const std::vector<int>& classes, const std::vector<std::string>& names);
// The outline of [x, x+w) x [y, y+h), `thick` pixels wide, clipped to the image.
void draw_rect(Image& img, int x, int y, int w, int h, Rgb colour, int thick = 1);

// A line plot of one or more series over xs, axes from the data (or [ylo, yhi] when ylo < yhi),
// the title above and the x range written under the axis.
struct Series {
  std::vector<float> y;
  Rgb colour;
};
Image line_plot(const std::vector<float>& xs, const std::vector<Series>& series,
                const std::string& title, int width, int height, float ylo = 0.f, float yhi = 0.f);

// Panels side by side, `gap` pixels apart, top-aligned, on white, each with its title above.
Image hstack(const std::vector<Image>& panels, const std::vector<std::string>& titles, int gap = 8);
// Rows one below the other on white, `gap` pixels apart.
Image vstack(const std::vector<Image>& rows, int gap = 8);
// `img` with `title` written above it.
Image titled(const Image& img, const std::string& title);

}  // namespace zf
