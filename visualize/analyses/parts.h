// The parts file of `zf_analyze correspondence` (Table 1 / Fig. 8): which images, which named parts
// (eyes, nose, ...) and which object box in each, read from JSON and checked before any work; and
// the boxes carried from the pixels of the file as decoded to the pixels of the net's view.
//
// Format (boxes [x, y, w, h] in pixels of the source file as decoded, so that they can be read off
// the photo; x, y the top-left corner):
//   {"note": "optional free text",
//    "images": [{"file": "cat.png",            relative to the JSON's folder, or absolute;
//                                              "$SKIMAGE/" = Debian python3-skimage's data folder
//                "label": 3,                   optional: the true class
//                "object": [x, y, w, h],       where random boxes may go
//                "parts": {"left_eye": [x, y, w, h], "nose": [x, y, w, h], ...},
//                "note": "optional"}, ...]}
// A part may be absent from some images but must be in at least 2 (Delta compares pairs); every
// box lies inside its image and is not empty; each part fits inside its image's object box (random
// boxes of its size go there). A part's name is letters, digits, '_' and '-', and not "random" (it
// names HDF5 groups beside the random rows). Unknown keys are errors, so that a misspelt "parts" is
// not ignored.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace zf {

// Debian's python3-skimage photos (astronaut.png, chelsea.png, camera.png, ...).
constexpr const char* kSkimageData = "/usr/lib/python3/dist-packages/skimage/data";

// The pixels [x, x + w) x [y, y + h).
struct Box {
  int x = 0, y = 0, w = 0, h = 0;
  bool empty() const { return w <= 0 || h <= 0; }
};
bool operator==(const Box& a, const Box& b);
std::string box_text(const Box& b);  // "[x,y,w,h]"

struct PartsImage {
  std::string file;           // resolved path
  int label = -1;             // -1: not given
  int width = 0, height = 0;  // of the file as decoded
  Box object;
  std::map<std::string, Box> parts;
};

struct PartsFile {
  std::string source;  // the JSON's path (names it in errors)
  std::vector<PartsImage> images;
  std::vector<std::string> part_names;  // sorted, each in >= 2 images
};

// The decoded width and height of an image file (throws naming the file when it does not decode).
using ImageSizer = std::function<void(const std::string& file, int* width, int* height)>;

// Parses and checks `text`; `folder` resolves relative file names; errors name `source` and the
// field ("parts.json: images[2].parts.nose: box [..] outside the 451x300 image"), in one line.
PartsFile parse_parts(const std::string& text, const std::string& source, const std::string& folder,
                      const ImageSizer& sizer);
// Reads `path` and parses it, sizing the images by decoding them.
PartsFile load_parts(const std::string& path, int channels);

// Where the source pixels of a box land in the net's view: the file is resized so that its shorter
// side is `side` and centre-cropped to side x side (resize_center_square), zero-padded by `pad` and
// centre-cropped to `crop` (view_sample's evaluation view). Edges are rounded to the nearest pixel,
// a box keeps at least one pixel, and the result is clipped to the view (it may become empty).
Box box_to_view(const Box& b, int width, int height, int side, int pad, int crop);

}  // namespace zf
