// zf_analyze filters (see filters.h): a conv layer's weights read straight from checkpoints,
// each filter's RMS and the dead ones, the pictures on a shared and a per-filter scale, and
// filters.csv / filters.h5.
#include "visualize/analyses/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/io/checkpoint.h"
#include "core/io/h5io.h"
#include "core/nn/net_spec.h"
#include "train/config.h"
#include "visualize/analyses/common.h"
#include "visualize/analyses/figure.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

std::vector<double> filter_rms(const Tensor& w) {
  ZF_CHECK(w.shape().ndim == 4, "filter_rms: weights %s are not [F, C, kh, kw]",
           w.shape().str().c_str());
  const int64_t F = w.dim(0), per = w.numel() / std::max<int64_t>(F, 1);
  std::vector<double> rms(static_cast<size_t>(F));
  for (int64_t f = 0; f < F; ++f) {
    double ss = 0.0;
    for (int64_t i = 0; i < per; ++i) {
      const double v = w.f32()[f * per + i];
      ss += v * v;
    }
    rms[f] = std::sqrt(ss / static_cast<double>(std::max<int64_t>(per, 1)));
  }
  return rms;
}

std::vector<uint8_t> dead_filters(const std::vector<double>& rms, double fraction) {
  const double top = rms.empty() ? 0.0 : *std::max_element(rms.begin(), rms.end());
  std::vector<uint8_t> dead;
  for (double r : rms) dead.push_back(top == 0.0 || r < fraction * top);
  return dead;
}

namespace {

// The name of the layer to show among the checkpoint's layers (asked for capabilities, not type
// names: a conv slides a window and has parameters).
std::string conv_layer(const std::vector<std::unique_ptr<Layer>>& layers, const std::string& name,
                       const std::string& checkpoint) {
  Geometry g;
  std::string names;
  for (const auto& l : layers) {
    if (l->is_loss()) continue;
    names += (names.empty() ? "" : ", ") + l->name();
    const bool conv = l->geometry(&g) && !l->params().empty();
    if (name.empty() && conv) return l->name();
    if (l->name() != name) continue;
    ZF_CHECK(conv, "%s: layer '%s' is not a conv layer (filters [F, C, k, k])", checkpoint.c_str(),
             name.c_str());
    return l->name();
  }
  ZF_CHECK(!name.empty(), "%s: the net has no conv layer", checkpoint.c_str());
  ZF_THROW("%s: no layer named '%s' (layers: %s)", checkpoint.c_str(), name.c_str(), names.c_str());
}

}  // namespace

FilterSet read_filters(const std::string& checkpoint, const std::string& layer, double dead) {
  FilterSet fs;
  fs.checkpoint = checkpoint;
  const CheckpointHeader h = read_checkpoint(checkpoint);
  const Config cfg = parse_config(h.config, checkpoint + " (stored config)");
  fs.layer = conv_layer(make_layers(cfg.net), layer, checkpoint);
  std::vector<float> w;
  std::vector<hsize_t> dims;
  read_checkpoint(checkpoint, [&](hid_t f) {
    w = h5::read_vector<float>(f, "params/" + fs.layer + "/weight", H5T_NATIVE_FLOAT, checkpoint,
                               &dims, h5::Expect{{-1, -1, -1, -1}});
  });
  fs.epoch = h.epoch;
  fs.weight = Tensor(Shape{static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]),
                           static_cast<int64_t>(dims[2]), static_cast<int64_t>(dims[3])});
  std::copy(w.begin(), w.end(), fs.weight.f32());
  fs.rms = filter_rms(fs.weight);
  fs.dead = dead_filters(fs.rms, dead);
  return fs;
}

namespace {

int dead_count(const FilterSet& s) {
  return static_cast<int>(std::count(s.dead.begin(), s.dead.end(), uint8_t{1}));
}

// The shortest readable name of a checkpoint: its path with at most two folders above it.
std::string short_name(const std::string& path) {
  const fs::path p(path);
  const fs::path up = p.parent_path();
  std::string s = p.filename().string();
  if (!up.filename().empty()) s = up.filename().string() + "/" + s;
  if (!up.parent_path().filename().empty()) s = up.parent_path().filename().string() + "/" + s;
  return s;
}

}  // namespace

Image filter_grid(const FilterSet& s, float max_abs, int columns) {
  const Tensor& w = s.weight;
  const int F = static_cast<int>(w.dim(0)), C = static_cast<int>(w.dim(1));
  const int kh = static_cast<int>(w.dim(2)), kw = static_cast<int>(w.dim(3));
  const int shown = C == 3 ? 3 : 1, zoom = std::max(1, 28 / std::max(kh, kw));
  const int cw = kw * zoom + 4, ch = kh * zoom + 4, cols = std::min(columns, std::max(F, 1));
  Image grid = blank_image(cols * cw, ((F + cols - 1) / cols) * ch, 3, 255);
  for (int f = 0; f < F; ++f) {
    const float* p = w.f32() + static_cast<size_t>(f) * C * kh * kw;
    const Image cell = max_abs > 0.f ? display_signed(p, shown, kh, kw, zoom, max_abs)
                                     : display_projection(p, shown, kh, kw, zoom);
    const int x = (f % cols) * cw, y = (f / cols) * ch;
    paste(grid, to_rgb(cell), x + 2, y + 2);
    if (s.dead[f]) draw_rect(grid, x, y, cw, ch, Rgb{220, 20, 20}, 2);
  }
  return grid;
}

Image filters_picture(const std::vector<FilterSet>& sets, bool shared, int columns) {
  float max_abs = 0.f;
  for (const FilterSet& s : sets)
    for (int64_t i = 0; i < s.weight.numel(); ++i)
      max_abs = std::max(max_abs, std::fabs(s.weight.f32()[i]));
  const std::string what =
      shared
          ? strprintf("shared scale: grey = 0, black/white = -/+%.3g (the largest abs w)", max_abs)
          : std::string("each filter its own contrast: grey = 0");
  std::vector<Image> rows{titled(blank_image(1, 1, 3, 255), figure_text(what + "; red: dead"))};
  for (const FilterSet& s : sets) {
    const std::string title =
        strprintf("%s epoch %d %s %lldx%lldx%lld: %d/%d dead", short_name(s.checkpoint).c_str(),
                  s.epoch, s.layer.c_str(), static_cast<long long>(s.weight.dim(1)),
                  static_cast<long long>(s.weight.dim(2)), static_cast<long long>(s.weight.dim(3)),
                  dead_count(s), static_cast<int>(s.rms.size()));
    // max_abs 0 (all-zero weights) shares nothing: each cell is then mid-grey either way.
    rows.push_back(titled(filter_grid(s, shared ? std::max(max_abs, 1e-30f) : 0.f, columns),
                          figure_text(title)));
  }
  return vstack(rows);
}

namespace {

void write_csv(const std::string& path, const std::vector<FilterSet>& sets) {
  std::ofstream out(path);
  out << "checkpoint,epoch,layer,filter,rms,dead\n";
  for (const FilterSet& s : sets)
    for (size_t f = 0; f < s.rms.size(); ++f)
      out << s.checkpoint << "," << s.epoch << "," << s.layer << "," << f << ","
          << strprintf("%.6g", s.rms[f]) << "," << static_cast<int>(s.dead[f]) << "\n";
  ZF_CHECK(out.good(), "%s: cannot write", path.c_str());
}

void write_h5(const std::string& path, const FiltersOptions& o,
              const std::vector<FilterSet>& sets) {
  h5::write_file_atomically(path, [&](hid_t f) {
    h5::write_attr_str(f, "layer", o.layer.empty() ? "(first conv layer)" : o.layer);
    h5::write_attr_str(f, "rms", "per filter (output channel): sqrt(mean(w^2)) over C x kh x kw");
    h5::write_attr_f64(f, "dead_fraction", o.dead);
    h5::write_attr_str(f, "dead", "rms < dead_fraction * the largest rms of the same checkpoint");
    h5::write_attr_str(f, "shared_scale", "mid-grey = 0, largest |w| over all checkpoints = 0/255");
    h5::write_attr_str(f, "shown_channels", "RGB for 3 input channels, else the first");
    for (size_t i = 0; i < sets.size(); ++i) {
      const FilterSet& s = sets[i];
      h5::H5Handle g(h5::make_group(f, std::to_string(i)), H5Gclose);
      h5::write_attr_str(g, "checkpoint", s.checkpoint);
      h5::write_attr_str(g, "layer", s.layer);
      h5::write_attr_i64(g, "epoch", s.epoch);
      h5::write_attr_i64(g, "dead_count", dead_count(s));
      write_f32(g, "weight", s.weight);
      h5::write_array(g, "rms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {s.rms.size()}, s.rms.data());
      h5::write_array(g, "dead", H5T_STD_U8LE, H5T_NATIVE_UINT8, {s.dead.size()}, s.dead.data());
    }
  });
}

}  // namespace

// Every checkpoint is read and checked before --out is created.
void run_filters(const FiltersOptions& o) {
  ZF_CHECK(!o.checkpoints.empty(), "--checkpoints: none given");
  ZF_CHECK(o.dead >= 0.0 && o.dead < 1.0, "--dead %g: must be in [0, 1)", o.dead);
  ZF_CHECK(o.columns >= 1, "--columns %d: must be >= 1", o.columns);
  for (const std::string& scale : o.scales)
    ZF_CHECK(scale == "shared" || scale == "each", "--scale %s: shared or each", scale.c_str());
  std::vector<FilterSet> sets;
  for (const std::string& c : o.checkpoints) sets.push_back(read_filters(c, o.layer, o.dead));
  fs::create_directories(o.out);
  for (const std::string& scale : o.scales)
    write_png(o.out + "/filters_" + scale + ".png",
              filters_picture(sets, scale == "shared", o.columns));
  write_csv(o.out + "/filters.csv", sets);
  write_h5(o.out + "/filters.h5", o, sets);
  for (const FilterSet& s : sets) {
    const double top = s.rms.empty() ? 0.0 : *std::max_element(s.rms.begin(), s.rms.end());
    std::printf("%s (epoch %d) %s: %zu filters, %d dead, largest rms %.4g\n", s.checkpoint.c_str(),
                s.epoch, s.layer.c_str(), s.rms.size(), dead_count(s), top);
  }
  std::printf("%s/filters_*.png, filters.csv, filters.h5\n", o.out.c_str());
}

}  // namespace zf
