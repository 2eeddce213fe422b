// zf_analyze correspondence's run (see correspondence.h): every input checked, the images' views
// and boxes prepared, and the outputs: correspondence.md (Table 1), .csv, .h5 (every pair's value
// and every choice as attributes) and correspondence_masks.png (Fig. 8).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/io/h5io.h"
#include "train/cli.h"
#include "visualize/analyses/correspondence.h"
#include "visualize/analyses/figure.h"
#include "visualize/render.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

// Every choice the numbers depend on, written into each output.
struct Choices {
  std::vector<std::pair<std::string, std::string>> kv;
  void add(const std::string& k, const std::string& v) { kv.emplace_back(k, v); }
};

Choices choices(const CorrespondenceOptions& o, const Session& s,
                const std::vector<FeatureLayer>& layers) {
  const Shape& in = s.net->input_chw();
  Choices c;
  c.add("checkpoint", o.common.checkpoint);
  c.add("parts", o.parts);
  std::string names;
  for (const FeatureLayer& L : layers)
    names += (names.empty() ? "" : ", ") + L.name + " (shown: " + s.net->layer(L.act).name() + ")";
  c.add("layers", names);
  c.add("features",
        "each layer's shown activation (rectified when a rectifier follows), flattened");
  c.add("eps", "features(original) - features(masked)");
  c.add("signs", "ternary: -1, 0, +1; an exact zero is 0");
  c.add("delta",
        "mean over ordered pairs (i != j) of the fraction of positions whose signs differ");
  c.add("plus_minus", "population standard deviation over the same pairs");
  c.add("fill", o.fill == "mean" ? "mean: the data mean at each view pixel (0 after normalization)"
                                 : "pixel value " + o.fill + ", normalized like the image");
  c.add("random", std::to_string(o.random) +
                      " boxes per part and image, of the part's size in that "
                      "image, uniform inside its object box; placement r compares the images' r-th "
                      "boxes; 'random' pools the pairs over r and over the parts' sizes");
  c.add("seed", std::to_string(o.seed) +
                    " (rng_u32(seed, stream = image, counter = 2 * (part * K "
                    "+ r) + axis) mod the free range)");
  c.add("boxes", strprintf("source pixels -> view: shorter side resized to %d, centre %dx%d "
                           "square, padded by %d, centre crop %lld; edges rounded",
                           source_side(s), source_side(s), source_side(s), s.cfg.data.transform.pad,
                           static_cast<long long>(in[1])));
  return c;
}

std::string cell(const PartDelta& d) {
  return strprintf("%.4f +- %.4f", d.mean, d.std);
}

void write_markdown(const std::string& path, const Choices& c,
                    const std::vector<FeatureLayer>& layers,
                    const std::vector<CorrespondenceRow>& rows) {
  std::ofstream out(path);
  out << "# Correspondence (Zeiler & Fergus Table 1)\n\n";
  for (const auto& kv : c.kv) out << "- " << kv.first << ": " << kv.second << "\n";
  out << "\nLower Delta = the part changes the features more consistently across images.\n\n";
  out << "| part | pairs |";
  for (const FeatureLayer& L : layers) out << " " << L.name << " |";
  out << "\n|---|---|";
  for (size_t l = 0; l < layers.size(); ++l) out << "---|";
  out << "\n";
  for (const CorrespondenceRow& r : rows) {
    out << "| " << r.name << " | " << r.by_layer[0].values.size() << " |";
    for (const PartDelta& d : r.by_layer) out << " " << cell(d) << " |";
    out << "\n";
  }
  out << "\nThe paper (5 dog images, layer 5 / layer 7): right eye 0.067 +- 0.007 / 0.069 +- "
         "0.015; "
         "left eye 0.069 +- 0.007 / 0.068 +- 0.013; nose 0.079 +- 0.017 / 0.069 +- 0.011; random "
         "0.107 +- 0.017 / 0.073 +- 0.014.\n";
  ZF_CHECK(out.good(), "%s: cannot write", path.c_str());
}

void write_csv(const std::string& path, const std::vector<FeatureLayer>& layers,
               const std::vector<CorrespondenceRow>& rows) {
  std::ofstream out(path);
  out << "part,layer,delta_mean,delta_std,pairs\n";
  for (const CorrespondenceRow& r : rows)
    for (size_t l = 0; l < layers.size(); ++l)
      out << r.name << "," << layers[l].name << "," << strprintf("%.6f", r.by_layer[l].mean) << ","
          << strprintf("%.6f", r.by_layer[l].std) << "," << r.by_layer[l].values.size() << "\n";
  ZF_CHECK(out.good(), "%s: cannot write", path.c_str());
}

void write_box(hid_t g, const std::string& name, const Box& b) {
  const int32_t v[4] = {b.x, b.y, b.w, b.h};
  h5::write_array(g, name, H5T_STD_I32LE, H5T_NATIVE_INT32, {4}, v);
}

void write_images_h5(hid_t f, const std::vector<CorrespondenceImage>& images) {
  h5::H5Handle all(h5::make_group(f, "images"), H5Gclose);
  for (size_t i = 0; i < images.size(); ++i) {
    const CorrespondenceImage& im = images[i];
    h5::H5Handle g(h5::make_group(all, std::to_string(i)), H5Gclose);
    h5::write_attr_str(g, "name", im.name);
    h5::write_attr_str(g, "file", im.file);
    h5::write_attr_i64(g, "label", im.label);
    write_box(g, "object_view", im.object);
    for (const auto& p : im.parts) write_box(g, "part_view:" + p.first, p.second);
    for (const auto& p : im.random) {
      std::vector<int32_t> v;
      for (const Box& b : p.second) v.insert(v.end(), {b.x, b.y, b.w, b.h});
      h5::write_array(g, "random_view:" + p.first, H5T_STD_I32LE, H5T_NATIVE_INT32,
                      {p.second.size(), 4}, v.data());
    }
  }
}

void write_h5(const std::string& path, const Choices& c, const std::vector<FeatureLayer>& layers,
              const std::vector<CorrespondenceRow>& rows,
              const std::vector<CorrespondenceImage>& images) {
  h5::write_file_atomically(path, [&](hid_t f) {
    for (const auto& kv : c.kv) h5::write_attr_str(f, kv.first.c_str(), kv.second);
    write_images_h5(f, images);
    h5::H5Handle rg(h5::make_group(f, "rows"), H5Gclose);
    for (const CorrespondenceRow& r : rows) {
      h5::H5Handle g(h5::make_group(rg, r.name), H5Gclose);
      for (size_t l = 0; l < layers.size(); ++l) {
        const PartDelta& d = r.by_layer[l];
        h5::H5Handle lg(h5::make_group(g, layers[l].name), H5Gclose);
        h5::write_attr_f64(lg, "delta_mean", d.mean);
        h5::write_attr_f64(lg, "delta_std", d.std);
        std::vector<int32_t> ids;
        for (const auto& p : d.pairs) ids.insert(ids.end(), p.begin(), p.end());
        h5::write_array(lg, "pair_values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {d.values.size()},
                        d.values.data());
        h5::write_array(lg, "pairs", H5T_STD_I32LE, H5T_NATIVE_INT32, {d.pairs.size(), 3},
                        ids.data());
      }
    }
  });
}

// Fig. 8: one row per image: the view with its object box, each part masked (outlined), and the
// first random placement of every part (outlined on the original).
Image masks_montage(const std::vector<CorrespondenceImage>& images,
                    const std::vector<std::string>& part_names, const MaskFill& fill, int C,
                    int side) {
  const int zoom = std::max(1, (128 + side - 1) / side);
  const Rgb red{230, 30, 30}, yellow{240, 200, 0};
  auto picture = [&](const NetView& v) {
    return to_rgb(display_patch(v.pixels.data(), C, side, side, zoom));
  };
  auto outline = [&](Image& img, const Box& b, Rgb colour) {
    draw_rect(img, b.x * zoom, b.y * zoom, b.w * zoom, b.h * zoom, colour, zoom > 1 ? 2 : 1);
  };
  std::vector<Image> rows;
  for (const CorrespondenceImage& im : images) {
    std::vector<Image> panels{picture(im.view)};
    outline(panels[0], im.object, yellow);
    std::vector<std::string> titles{figure_text(im.name)};
    Image random = picture(im.view);
    for (const std::string& p : part_names) {
      titles.push_back(figure_text(p));
      const auto it = im.parts.find(p);
      if (it == im.parts.end()) {
        panels.push_back(blank_image(side * zoom, side * zoom, 3, 255));
        continue;
      }
      panels.push_back(picture(mask_view(im.view, it->second, fill, C, side)));
      outline(panels.back(), it->second, red);
      const auto rit = im.random.find(p);
      if (rit != im.random.end() && !rit->second.empty()) outline(random, rit->second[0], red);
    }
    if (!im.random.empty()) panels.push_back(random), titles.push_back("random (1st)");
    rows.push_back(hstack(panels, titles));
  }
  return vstack(rows);
}

}  // namespace

// Parts file, images and layers are all checked (sessions open, files decode, boxes land in the
// view) before --out is created.
void run_correspondence(const CorrespondenceOptions& o) {
  ZF_CHECK(o.random >= 0, "--random %d: must be >= 0", o.random);
  std::set<std::string> seen;  // a layer named twice would name its HDF5 group twice
  for (const std::string& n : o.layers)
    if (!seen.insert(n).second) throw CliError("--layers " + n + ": given twice");
  Session s =
      open_session(o.common.checkpoint, o.common.config, backend::resolve_device(o.common.device));
  const std::vector<FeatureLayer> layers =
      feature_layers(*s.net, o.layers.empty() ? default_correspondence_layers(*s.net) : o.layers);
  const MaskFill fill = mask_fill(s, o.fill);
  const PartsFile pf = load_parts(o.parts, source_channels(s));
  const std::vector<CorrespondenceImage> images = prepare_parts_images(s, pf, o.random, o.seed);
  const int C = source_channels(s), side = static_cast<int>(s.net->input_chw()[1]);
  fs::create_directories(o.common.out);
  const std::vector<CorrespondenceRow> rows =
      measure_correspondence(s, images, layers, pf.part_names, o.random, fill, o.common.batch);
  const Choices c = choices(o, s, layers);
  const std::string base = o.common.out + "/correspondence";
  write_markdown(base + ".md", c, layers, rows);
  write_csv(base + ".csv", layers, rows);
  write_h5(base + ".h5", c, layers, rows, images);
  write_png(base + "_masks.png", masks_montage(images, pf.part_names, fill, C, side));
  for (const CorrespondenceRow& r : rows) {
    std::printf("%-16s", r.name.c_str());
    for (size_t l = 0; l < layers.size(); ++l)
      std::printf("  %s %s", layers[l].name.c_str(), cell(r.by_layer[l]).c_str());
    std::printf("\n");
  }
  std::printf("%s.md, %s.csv, %s.h5, %s_masks.png\n", base.c_str(), base.c_str(), base.c_str(),
              base.c_str());
}

}  // namespace zf
