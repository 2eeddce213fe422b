// Pictures: display scaling of projections and patches, pasting, text in a small bitmap font, and
// the figures built from them: the paper's Fig. 2 montage (top-k projections beside their patches),
// its Fig. 4 grid (features x snapshots), an image beside its strongest features' projections, and
// rows of first-layer filters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/image_io.h"
#include "visualize/projection.h"

namespace zf {

// A projection [C,h,w] for display: mid-gray is 0, and the largest |value| maps to 0 or 255 (one
// scale for all channels, so colours keep their balance). Scaled up by `zoom`.
Image display_projection(const float* chw, int c, int h, int w, int zoom);
// The same on a given scale: mid-gray is 0, +-max_abs maps to 255 and 0 (clamped beyond): pictures
// that must be compared by brightness (filters of several checkpoints on one scale).
Image display_signed(const float* chw, int c, int h, int w, int zoom, float max_abs);
Image display_patch(const uint8_t* chw, int c, int h, int w, int zoom);
Image blank_image(int width, int height, int channels, uint8_t value);
void paste(Image& dst, const Image& src, int x, int y);
// Draws `text` (digits, letters as lowercase, space and - : . / ( ) + = , _ % # < >) with a 5x7
// font scaled by `scale`.
void draw_text(Image& img, int x, int y, const std::string& text, uint8_t value, int scale = 1);
int text_width(const std::string& text, int scale = 1);

// Fig. 2: one block per shown feature (indices into `ids`), a g x g grid (g = ceil(sqrt(k))) of its
// k projections beside the grid of their patches. pr[i * k + j] = hit j of feature ids[i], each
// [channels, field, field].
Image fig2_montage(const std::vector<int>& shown, const std::vector<int>& ids,
                   const std::vector<Projection>& pr, int k, int channels, int field,
                   const std::string& title);
// Fig. 4: rows = features, columns = snapshots; proj[e][f] is feature features[f] at epochs[e].
Image fig4_grid(const std::string& title, const std::vector<int>& epochs,
                const std::vector<int>& features, const std::vector<std::vector<Projection>>& proj,
                int channels, int field);
// An image [C,H,W] beside the full-size projections of its strongest features.
Image image_strip(const std::string& title, const uint8_t* pixels, int C, int H, int W,
                  const std::vector<ProjectRequest>& req,
                  const std::vector<std::vector<float>>& full);
// A first layer's filters [F, C, k, k], each contrast-normalized alone, side by side after a label
// (RGB for 3 input channels, else the first channel in gray).
Image filter_row(const Tensor& w, const std::string& label, int zoom);
// Rows one below the other, 2 pixels apart, on white.
Image stack_rows(const std::vector<Image>& rows);

}  // namespace zf
