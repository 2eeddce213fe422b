// zf_analyze correspondence (see correspondence.h): sign patterns of masked-minus-original
// features, Delta per part and layer, and the measurement over a set of masked images. The
// outputs (table, HDF5, montage) are in correspondence_out.cpp.
#include "visualize/analyses/correspondence.h"

#include <cmath>
#include <cstdlib>

#include "core/rng.h"
#include "train/cli.h"

namespace zf {

std::vector<int8_t> ternary_signs(const float* a, const float* b, size_t n) {
  std::vector<int8_t> s(n);
  for (size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    s[i] = static_cast<int8_t>(d > 0.f ? 1 : d < 0.f ? -1 : 0);
  }
  return s;
}

double sign_disagreement(const std::vector<int8_t>& a, const std::vector<int8_t>& b) {
  ZF_CHECK(a.size() == b.size(), "sign patterns of %zu and %zu positions", a.size(), b.size());
  if (a.empty()) return 0.0;
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  return static_cast<double>(differ) / static_cast<double>(a.size());
}

namespace {
// Mean and population std of d.values (0 and 0 when there are none).
void summarize(PartDelta& d) {
  const double n = static_cast<double>(d.values.size());
  d.mean = d.std = 0.0;
  if (d.values.empty()) return;
  for (double v : d.values) d.mean += v;
  d.mean /= n;
  double ss = 0.0;
  for (double v : d.values) ss += (v - d.mean) * (v - d.mean);
  d.std = std::sqrt(ss / n);
}
}  // namespace

PartDelta part_delta(const std::vector<std::vector<int8_t>>& signs, const std::vector<int>& images,
                     int r) {
  ZF_CHECK(images.empty() || images.size() == signs.size(), "%zu image ids for %zu patterns",
           images.size(), signs.size());
  PartDelta d;
  const int n = static_cast<int>(signs.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (i == j) continue;
      d.values.push_back(sign_disagreement(signs[i], signs[j]));
      d.pairs.push_back({images.empty() ? i : images[i], images.empty() ? j : images[j], r});
    }
  summarize(d);
  return d;
}

PartDelta pooled_delta(const std::vector<PartDelta>& groups) {
  PartDelta d;
  for (const PartDelta& g : groups) {
    d.values.insert(d.values.end(), g.values.begin(), g.values.end());
    d.pairs.insert(d.pairs.end(), g.pairs.begin(), g.pairs.end());
  }
  summarize(d);
  return d;
}

MaskFill mask_fill(const Session& s, const std::string& fill) {
  MaskFill f;
  f.spec = fill;
  const std::vector<float> mean = view_mean(s);
  const Shape& in = s.net->input_chw();
  const size_t plane = static_cast<size_t>(in[1] * in[2]);
  f.x.assign(mean.size(), 0.f);
  f.pixels.resize(mean.size());
  if (fill == "mean") {
    for (size_t i = 0; i < mean.size(); ++i)
      f.pixels[i] = static_cast<uint8_t>(std::lround(std::min(std::max(mean[i], 0.f), 255.f)));
    return f;
  }
  char* end = nullptr;
  const long v = std::strtol(fill.c_str(), &end, 10);
  // Refused like occlusion's --fill: a command-line error (exit code 2), in the same words.
  if (fill.empty() || *end != '\0' || v < 0 || v > 255)
    throw CliError("--fill " + fill + ": expected mean or a pixel value 0..255");
  for (size_t i = 0; i < mean.size(); ++i) {
    const size_t c = i / plane;
    f.x[i] = (static_cast<float>(v) - mean[i]) * s.norm.inv_std[c] * s.norm.scale;
    f.pixels[i] = static_cast<uint8_t>(v);
  }
  return f;
}

NetView mask_view(const NetView& v, const Box& b, const MaskFill& f, int channels, int side) {
  NetView m = v;
  const int x0 = std::max(b.x, 0), y0 = std::max(b.y, 0);
  const int x1 = std::min(b.x + b.w, side), y1 = std::min(b.y + b.h, side);
  for (int c = 0; c < channels; ++c)
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const size_t i = (static_cast<size_t>(c) * side + y) * side + x;
        m.x[i] = f.x[i];
        m.pixels[i] = f.pixels[i];
      }
  return m;
}

void place_random_boxes(CorrespondenceImage& im, int image,
                        const std::vector<std::string>& part_names, int K, uint64_t seed) {
  im.random.clear();
  for (size_t p = 0; p < part_names.size(); ++p) {
    const auto it = im.parts.find(part_names[p]);
    if (it == im.parts.end()) continue;
    const Box& part = it->second;
    const uint32_t free_x = static_cast<uint32_t>(std::max(im.object.w - part.w, 0)) + 1;
    const uint32_t free_y = static_cast<uint32_t>(std::max(im.object.h - part.h, 0)) + 1;
    std::vector<Box>& boxes = im.random[part_names[p]];
    for (int r = 0; r < K; ++r) {
      const uint64_t n = 2 * (p * static_cast<uint64_t>(K) + static_cast<uint64_t>(r));
      const uint64_t stream = static_cast<uint64_t>(image);
      boxes.push_back(Box{im.object.x + static_cast<int>(rng_u32(seed, stream, n) % free_x),
                          im.object.y + static_cast<int>(rng_u32(seed, stream, n + 1) % free_y),
                          part.w, part.h});
    }
  }
}

namespace {

// One masked copy of an image: which part (index into the names), which random placement (-1: the
// part itself) and where.
struct MaskRef {
  int part, r;
  Box box;
};

std::vector<MaskRef> image_masks(const CorrespondenceImage& im,
                                 const std::vector<std::string>& names, int K) {
  std::vector<MaskRef> m;
  for (int p = 0; p < static_cast<int>(names.size()); ++p) {
    const auto it = im.parts.find(names[p]);
    if (it == im.parts.end()) continue;
    m.push_back(MaskRef{p, -1, it->second});
    const auto rit = im.random.find(names[p]);
    for (int r = 0; r < K && rit != im.random.end(); ++r)
      m.push_back(MaskRef{p, r, rit->second[r]});
  }
  return m;
}

// The sign patterns of one image: [layer][mask], eps = original minus masked.
std::vector<std::vector<std::vector<int8_t>>> image_signs(Session& s, const CorrespondenceImage& im,
                                                          const std::vector<MaskRef>& masks,
                                                          const std::vector<FeatureLayer>& layers,
                                                          const MaskFill& fill, int batch) {
  const Shape& in = s.net->input_chw();
  const int C = static_cast<int>(in[0]), side = static_cast<int>(in[1]);
  const size_t per = im.view.x.size();
  Tensor x(Shape{static_cast<int64_t>(masks.size() + 1), in[0], in[1], in[2]});
  std::copy(im.view.x.begin(), im.view.x.end(), x.f32());
  for (size_t m = 0; m < masks.size(); ++m) {
    const NetView v = mask_view(im.view, masks[m].box, fill, C, side);
    std::copy(v.x.begin(), v.x.end(), x.f32() + (m + 1) * per);
  }
  std::vector<int> acts;
  for (const FeatureLayer& L : layers) acts.push_back(L.act);
  const Forward f = forward_host(s, x, acts, false, batch);
  std::vector<std::vector<std::vector<int8_t>>> signs(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const size_t n = static_cast<size_t>(f.acts[l].numel() / x.dim(0));
    const float* a = f.acts[l].f32();
    for (size_t m = 0; m < masks.size(); ++m)
      signs[l].push_back(ternary_signs(a, a + (m + 1) * n, n));
  }
  return signs;
}

// The patterns of one part and placement at one layer, with their images.
struct Group {
  std::vector<std::vector<int8_t>> signs;
  std::vector<int> images;
};

}  // namespace

std::vector<CorrespondenceRow> measure_correspondence(
    Session& s, const std::vector<CorrespondenceImage>& images,
    const std::vector<FeatureLayer>& layers, const std::vector<std::string>& part_names, int K,
    const MaskFill& fill, int batch) {
  const size_t P = part_names.size(), L = layers.size();
  // groups[l][p][r + 1]: r = -1 is the part itself.
  std::vector<std::vector<std::vector<Group>>> groups(
      L, std::vector<std::vector<Group>>(P, std::vector<Group>(static_cast<size_t>(K) + 1)));
  for (size_t i = 0; i < images.size(); ++i) {
    const std::vector<MaskRef> masks = image_masks(images[i], part_names, K);
    const auto signs = image_signs(s, images[i], masks, layers, fill, batch);
    for (size_t l = 0; l < L; ++l)
      for (size_t m = 0; m < masks.size(); ++m) {
        Group& g = groups[l][masks[m].part][masks[m].r + 1];
        g.signs.push_back(signs[l][m]);
        g.images.push_back(static_cast<int>(i));
      }
  }
  std::vector<CorrespondenceRow> rows;
  for (size_t p = 0; p < P; ++p) {
    rows.push_back(CorrespondenceRow{part_names[p], {}});
    for (size_t l = 0; l < L; ++l)
      rows.back().by_layer.push_back(part_delta(groups[l][p][0].signs, groups[l][p][0].images));
  }
  if (K == 0) return rows;
  CorrespondenceRow all{"random", std::vector<PartDelta>(L)};
  std::vector<CorrespondenceRow> by_part;
  for (size_t p = 0; p < P; ++p) {
    by_part.push_back(CorrespondenceRow{"random:" + part_names[p], {}});
    for (size_t l = 0; l < L; ++l) {
      std::vector<PartDelta> per_r;
      for (int r = 0; r < K; ++r)
        per_r.push_back(part_delta(groups[l][p][r + 1].signs, groups[l][p][r + 1].images, r));
      by_part.back().by_layer.push_back(pooled_delta(per_r));
    }
  }
  for (size_t l = 0; l < L; ++l) {
    std::vector<PartDelta> parts;
    for (const CorrespondenceRow& row : by_part) parts.push_back(row.by_layer[l]);
    all.by_layer[l] = pooled_delta(parts);
  }
  rows.push_back(all);
  rows.insert(rows.end(), by_part.begin(), by_part.end());
  return rows;
}

namespace {
// A box carried to the view; an empty result (cut away by the crops) fails naming the field.
Box view_box(const Session& s, const PartsFile& pf, const PartsImage& im, const Box& b,
             const std::string& field) {
  const int side = source_side(s), crop = static_cast<int>(s.net->input_chw()[1]);
  const Box v = box_to_view(b, im.width, im.height, side, s.cfg.data.transform.pad, crop);
  if (v.empty())
    throw Error(
        strprintf("%s: %s: box %s falls outside the net's view (the %dx%d file is resized "
                  "to a shorter side of %d and centre-cropped to %dx%d, then to %d)",
                  pf.source.c_str(), field.c_str(), box_text(b).c_str(), im.width, im.height, side,
                  side, side, crop));
  return v;
}
}  // namespace

std::vector<CorrespondenceImage> prepare_parts_images(const Session& s, const PartsFile& pf, int K,
                                                      uint64_t seed) {
  const Net& net = *s.net;
  const int classes = static_cast<int>(net.output_shape(net.size() - 1)[1]);
  ImageSelection sel;
  for (const PartsImage& im : pf.images) sel.files.push_back(im.file);
  const std::vector<AnalysisImage> loaded = load_images(s, sel);
  std::vector<CorrespondenceImage> out;
  for (size_t i = 0; i < pf.images.size(); ++i) {
    const PartsImage& pi = pf.images[i];
    const std::string field = "images[" + std::to_string(i) + "]";
    if (pi.label >= classes)
      throw Error(strprintf("%s: %s.label: %d outside the net's classes 0..%d", pf.source.c_str(),
                            field.c_str(), pi.label, classes - 1));
    CorrespondenceImage im;
    im.name = loaded[i].name;
    im.file = pi.file;
    im.label = pi.label;
    im.view = net_view(s, loaded[i].src.data());
    im.object = view_box(s, pf, pi, pi.object, field + ".object");
    for (const auto& p : pi.parts)
      im.parts[p.first] = view_box(s, pf, pi, p.second, field + ".parts." + p.first);
    place_random_boxes(im, static_cast<int>(i), pf.part_names, K, seed);
    out.push_back(std::move(im));
  }
  return out;
}

std::vector<std::string> default_correspondence_layers(Net& net) {
  const std::vector<FeatureLayer> convs = filtering_layers(net);
  std::vector<std::string> names;
  if (!convs.empty()) names.push_back(convs.back().name);
  if (const std::string fc = penultimate_fc(net); !fc.empty()) names.push_back(fc);
  ZF_CHECK(!names.empty(),
           "the net has no conv layer and no fc before its classifier: give --layers");
  return names;
}

}  // namespace zf
