// The correspondence parts file: parsing, checks, and boxes carried into the net's view (see
// parts.h).
#include "visualize/analyses/parts.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/check.h"
#include "train/image_io.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zf {

bool operator==(const Box& a, const Box& b) {
  return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

std::string box_text(const Box& b) {
  return strprintf("[%d,%d,%d,%d]", b.x, b.y, b.w, b.h);
}

namespace {

// Errors are one line: "<file>: <field>: <what>" (no file:line suffix: the field is the place).
[[noreturn]] void fail(const std::string& source, const std::string& field,
                       const std::string& msg) {
  throw Error(source + ": " + (field.empty() ? "" : field + ": ") + msg);
}

void only_keys(const json& obj, const std::set<std::string>& known, const std::string& source,
               const std::string& field) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(source, field.empty() ? it.key() : field + "." + it.key(),
           "unknown key (known: " + list + ")");
    }
}

int integer(const json& v, const std::string& source, const std::string& field) {
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= -(1 << 30) && i <= (1 << 30)) return static_cast<int>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) <= (1 << 30)) return static_cast<int>(d);
  }
  fail(source, field, "'" + v.dump() + "' is not an integer");
}

// A box [x, y, w, h], non-empty and inside the W x H image.
Box read_box(const json& v, int W, int H, const std::string& source, const std::string& field) {
  if (!v.is_array() || v.size() != 4) fail(source, field, "not a box [x, y, w, h]: " + v.dump());
  Box b{integer(v[0], source, field), integer(v[1], source, field), integer(v[2], source, field),
        integer(v[3], source, field)};
  if (b.empty()) fail(source, field, "box " + box_text(b) + " is empty (w and h must be >= 1)");
  if (b.x < 0 || b.y < 0 || b.x + b.w > W || b.y + b.h > H)
    fail(source, field, strprintf("box %s outside the %dx%d image", box_text(b).c_str(), W, H));
  return b;
}

std::string resolve(const std::string& file, const std::string& folder) {
  const std::string sk = "$SKIMAGE/";
  if (file.compare(0, sk.size(), sk) == 0)
    return std::string(kSkimageData) + "/" + file.substr(sk.size());
  if (fs::path(file).is_absolute() || folder.empty()) return file;
  return (fs::path(folder) / file).string();
}

PartsImage read_image(const json& e, const std::string& source, const std::string& field,
                      const std::string& folder, const ImageSizer& sizer) {
  if (!e.is_object())
    fail(source, field, "not an object {\"file\": .., \"object\": .., \"parts\": ..}");
  only_keys(e, {"file", "label", "object", "parts", "note"}, source, field);
  PartsImage im;
  if (!e.contains("file") || !e["file"].is_string())
    fail(source, field + ".file", "missing (a path)");
  im.file = resolve(e["file"].get<std::string>(), folder);
  try {
    sizer(im.file, &im.width, &im.height);
  } catch (const std::exception& x) {
    fail(source, field + ".file", x.what());
  }
  if (e.contains("label")) {
    im.label = integer(e["label"], source, field + ".label");
    if (im.label < 0) fail(source, field + ".label", "must be >= 0");
  }
  if (!e.contains("object")) fail(source, field + ".object", "missing (a box [x, y, w, h])");
  im.object = read_box(e["object"], im.width, im.height, source, field + ".object");
  if (!e.contains("parts") || !e["parts"].is_object() || e["parts"].empty())
    fail(source, field + ".parts", "missing (an object of named boxes)");
  for (auto it = e["parts"].begin(); it != e["parts"].end(); ++it) {
    const std::string pf = field + ".parts." + it.key();
    // A part's name names HDF5 groups and datasets beside the rows "random" and "random:<part>".
    const bool plain =
        !it.key().empty() && it.key().find_first_not_of(
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789_-") == std::string::npos;
    if (!plain || it.key() == "random")
      fail(source, pf, "a part's name is letters, digits, '_' and '-', and not 'random'");
    const Box b = read_box(it.value(), im.width, im.height, source, pf);
    if (b.w > im.object.w || b.h > im.object.h)
      fail(source, pf,
           "box " + box_text(b) + " larger than the object box " + box_text(im.object) +
               " (random boxes of its size must fit inside it)");
    im.parts[it.key()] = b;
  }
  return im;
}

}  // namespace

PartsFile parse_parts(const std::string& text, const std::string& source, const std::string& folder,
                      const ImageSizer& sizer) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    const size_t cut = what.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] "
    fail(source, "", "not JSON: " + (cut == std::string::npos ? what : what.substr(cut + 2)));
  }
  if (!doc.is_object()) fail(source, "", "not a JSON object {\"images\": [...]}");
  only_keys(doc, {"images", "note"}, source, "");
  if (!doc.contains("images") || !doc["images"].is_array() || doc["images"].size() < 2)
    fail(source, "images", "missing, or fewer than 2 images (Delta compares pairs)");
  PartsFile pf;
  pf.source = source;
  std::map<std::string, int> count;
  for (size_t i = 0; i < doc["images"].size(); ++i) {
    const std::string field = "images[" + std::to_string(i) + "]";
    pf.images.push_back(read_image(doc["images"][i], source, field, folder, sizer));
    for (const auto& p : pf.images.back().parts) ++count[p.first];
  }
  for (const auto& c : count) {
    if (c.second < 2)
      fail(source, "parts." + c.first,
           "in only 1 image (a part must be in at least 2: Delta compares pairs)");
    pf.part_names.push_back(c.first);
  }
  return pf;
}

PartsFile load_parts(const std::string& path, int channels) {
  std::ifstream in(path, std::ios::binary);
  ZF_CHECK(in.good(), "%s: cannot open the parts file", path.c_str());
  std::stringstream ss;
  ss << in.rdbuf();
  const ImageSizer sizer = [channels](const std::string& file, int* w, int* h) {
    const Image img = decode_image_file(file, channels);
    *w = img.width, *h = img.height;
  };
  return parse_parts(ss.str(), path, fs::path(path).parent_path().string(), sizer);
}

Box box_to_view(const Box& b, int width, int height, int side, int pad, int crop) {
  // The resized size and the square's offset, exactly as resize_center_square computes them.
  const bool wide = width >= height;
  const int rw =
      wide ? std::max(side,
                      static_cast<int>(std::lround(static_cast<double>(width) * side / height)))
           : side;
  const int rh =
      wide ? side
           : std::max(side,
                      static_cast<int>(std::lround(static_cast<double>(height) * side / width)));
  const double fx = static_cast<double>(rw) / width, fy = static_cast<double>(rh) / height;
  const int padded = side + 2 * pad, c = crop ? crop : padded;
  const int ox = (rw - side) / 2 - pad + (padded - c) / 2;  // source square -> view
  const int oy = (rh - side) / 2 - pad + (padded - c) / 2;
  int x0 = static_cast<int>(std::lround(b.x * fx)) - ox;
  int y0 = static_cast<int>(std::lround(b.y * fy)) - oy;
  int x1 = std::max(static_cast<int>(std::lround((b.x + b.w) * fx)) - ox, x0 + 1);
  int y1 = std::max(static_cast<int>(std::lround((b.y + b.h) * fy)) - oy, y0 + 1);
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, c), y1 = std::min(y1, c);
  return Box{x0, y0, std::max(x1 - x0, 0), std::max(y1 - y0, 0)};
}

}  // namespace zf
