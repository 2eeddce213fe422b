// zf_analyze invariance (Fig. 5) on small nets built from YAML text: the source transforms against
// hand-made results (identity bit for bit, whole-pixel translations and their mean fill, the
// half-pixel bilinear blend, rotations by quarter turns, zooms), the sweep's distances against a
// direct computation, a constant image at the data mean staying put under every transform, the
// option parsing (defaults scaled to the input side, overrides, one CliError per mistake), the
// default layers, and one whole run from a checkpoint file.
// Run: build/tests/zf_analyze_tests --gtest_filter='Invariance*'
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/io/h5io.h"
#include "core/nn/net_spec.h"
#include "train/cli.h"
#include "train/config.h"
#include "train/image_io.h"
#include "train/train_state.h"
#include "visualize/analyses/invariance.h"

using namespace zf;
namespace fs = std::filesystem;

namespace {

// A conv, a pool and two fc layers: the default layers are conv1 and fc2.
constexpr const char* kLayers =
    "  - {name: conv1, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.4}\n"
    "  - {name: relu1, type: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 2, stride: 2}\n"
    "  - {name: conv2, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.4}\n"
    "  - {name: relu2, type: relu}\n"
    "  - {name: fc2, type: fc, outputs: 8, std: 0.3}\n"
    "  - {name: relu3, type: relu}\n"
    "  - {name: fc3, type: fc, outputs: 3, std: 0.3}\n"
    "  - {name: loss, type: softmax_loss}\n";

std::string yaml(int channels, int side, int pad, const std::string& layers = kLayers) {
  const int in = side + 2 * pad;
  return "input: {channels: " + std::to_string(channels) + ", height: " + std::to_string(in) +
         ", width: " + std::to_string(in) + "}\ndata: {train: unused, pad: " + std::to_string(pad) +
         "}\nlayers:\n" + layers;
}

// The mean of the padded image: `inside` over the source's pixels plus `ramp` * (y + x), and 30 on
// the padding ring, so that a fill read from the wrong place shows.
Normalizer normalizer(int channels, int side, int pad, float inside, float ramp) {
  Normalizer n;
  n.c = channels, n.h = n.w = side + 2 * pad;
  n.mean.assign(static_cast<size_t>(n.c) * n.h * n.w, 30.f);
  for (int c = 0; c < n.c; ++c)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        n.mean[(static_cast<size_t>(c) * n.h + pad + y) * n.w + pad + x] =
            inside + 7.f * c + ramp * static_cast<float>(y + x);
  n.inv_std.assign(n.c, 1.f / 64.f);
  return n;
}

Session session(int channels, int side, int pad, float inside = 100.f, float ramp = 0.f,
                const std::string& layers = kLayers) {
  Session s;
  s.checkpoint = "test";
  s.cfg = parse_config(yaml(channels, side, pad, layers), "test_invariance.yaml");
  s.net = std::make_unique<Net>(build_net(s.cfg.net));
  s.net->init_params(20131112);
  s.norm = normalizer(channels, side, pad, inside, ramp);
  return s;
}

std::vector<uint8_t> random_image(int channels, int side, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(static_cast<size_t>(channels) * side * side);
  for (uint8_t& p : v) p = static_cast<uint8_t>(d(g));
  return v;
}

AnalysisImage image_of(std::vector<uint8_t> src, int label = -1) {
  AnalysisImage a;
  a.name = "test";
  a.source = "test image";
  a.label = label;
  a.src = std::move(src);
  return a;
}

uint8_t px(const std::vector<uint8_t>& img, int side, int c, int y, int x) {
  return img[(static_cast<size_t>(c) * side + y) * side + x];
}

uint8_t mean_px(const Session& s, int c, int y, int x) {
  const int pad = s.cfg.data.transform.pad;
  return static_cast<uint8_t>(
      std::lround(s.norm.mean[(static_cast<size_t>(c) * s.norm.h + pad + y) * s.norm.w + pad + x]));
}

// The layers' rectified outputs and the probabilities of one source image, one at a time.
Forward forward_one(Session& s, const std::vector<uint8_t>& src, const std::vector<int>& acts) {
  const NetView v = net_view(s, src.data());
  const Shape& in = s.net->input_chw();
  Tensor x(Shape{1, in[0], in[1], in[2]});
  std::copy(v.x.begin(), v.x.end(), x.f32());
  return forward_host(s, x, acts, true, 1);
}

std::string cli_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<not a CliError: ") + e.what() + ">";
  }
  return "<no error>";
}

}  // namespace

TEST(InvarianceTransform, IdentityIsBitForBit) {
  const Session s = session(2, 9, 2);
  const std::vector<uint8_t> src = random_image(2, 9, 1);
  const NetView want = net_view(s, src.data());
  for (auto [t, a] : {std::pair{Transform::Translate, 0.f},
                      {Transform::Scale, 1.f},
                      {Transform::Rotate, 0.f},
                      {Transform::Rotate, 360.f}}) {
    const std::vector<uint8_t> out = transform_source(s, src.data(), t, a);
    EXPECT_EQ(out, src) << transform_name(t) << " " << a;
    const NetView got = net_view(s, out.data());
    EXPECT_EQ(got.pixels, want.pixels);
    EXPECT_EQ(0, std::memcmp(got.x.data(), want.x.data(), want.x.size() * sizeof(float)));
  }
}

// Positive amounts move the content down; the rows the source no longer covers hold the data mean
// of their own pixels (the mean varies over the image here).
TEST(InvarianceTransform, TranslateMovesDownAndFillsWithTheMean) {
  const int S = 8;
  const Session s = session(2, S, 1, 90.f, 3.f);
  const std::vector<uint8_t> src = random_image(2, S, 2);
  for (int dy : {2, -3}) {
    const std::vector<uint8_t> out =
        transform_source(s, src.data(), Transform::Translate, static_cast<float>(dy));
    for (int c = 0; c < 2; ++c)
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          const int sy = y - dy;
          const uint8_t want = sy >= 0 && sy < S ? px(src, S, c, sy, x) : mean_px(s, c, y, x);
          ASSERT_EQ(px(out, S, c, y, x), want) << "dy " << dy << " c " << c << " y " << y;
        }
  }
}

// Half a pixel down: each pixel is the rounded mean of itself and the one above, the top row blends
// with the fill.
TEST(InvarianceTransform, HalfPixelIsBilinear) {
  const int S = 7;
  const Session s = session(1, S, 0, 60.f, 2.f);
  const std::vector<uint8_t> src = random_image(1, S, 3);
  const std::vector<uint8_t> out = transform_source(s, src.data(), Transform::Translate, 0.5f);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double above = y > 0 ? px(src, S, 0, y - 1, x) : mean_px(s, 0, y, x);
      EXPECT_EQ(px(out, S, 0, y, x), std::lround((above + px(src, S, 0, y, x)) / 2))
          << y << "," << x;
    }
}

// A quarter turn counter-clockwise on screen takes the right column to the top row.
TEST(InvarianceTransform, QuarterTurnsMatchAHandRotation) {
  for (int S : {6, 7}) {
    const Session s = session(2, S, 1);
    const std::vector<uint8_t> src = random_image(2, S, 4);
    const std::vector<uint8_t> r90 = transform_source(s, src.data(), Transform::Rotate, 90.f);
    const std::vector<uint8_t> r180 = transform_source(s, src.data(), Transform::Rotate, 180.f);
    const std::vector<uint8_t> r270 = transform_source(s, src.data(), Transform::Rotate, -90.f);
    for (int c = 0; c < 2; ++c)
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          ASSERT_EQ(px(r90, S, c, y, x), px(src, S, c, x, S - 1 - y)) << S << ": " << y << "," << x;
          ASSERT_EQ(px(r180, S, c, y, x), px(src, S, c, S - 1 - y, S - 1 - x));
          ASSERT_EQ(px(r270, S, c, y, x), px(src, S, c, S - 1 - x, y));
        }
  }
}

// Zooming in by 2 about the centre pixel (4, 4) of a 9x9 image: even offsets land on source
// pixels, odd ones between two of them.
TEST(InvarianceTransform, ScaleZoomsInAboutTheCentre) {
  const int S = 9;
  const Session s = session(1, S, 0);
  const std::vector<uint8_t> src = random_image(1, S, 5);
  const std::vector<uint8_t> out = transform_source(s, src.data(), Transform::Scale, 2.f);
  for (int k = -2; k <= 2; ++k)
    for (int j = -2; j <= 2; ++j)
      EXPECT_EQ(px(out, S, 0, 4 + 2 * k, 4 + 2 * j), px(src, S, 0, 4 + k, 4 + j));
  EXPECT_EQ(px(out, S, 0, 4, 5), std::lround((px(src, S, 0, 4, 4) + px(src, S, 0, 4, 5)) / 2.0));
  // Zooming out: the corners come from beyond the source, i.e. the mean.
  const std::vector<uint8_t> half = transform_source(s, src.data(), Transform::Scale, 0.5f);
  EXPECT_EQ(px(half, S, 0, 0, 0), mean_px(s, 0, 0, 0));
  EXPECT_EQ(px(half, S, 0, 4, 4), px(src, S, 0, 4, 4));
}

// The sweep's numbers against forward passes of single images and distances summed here.
TEST(InvarianceSweep, DistancesMatchADirectComputation) {
  Session s = session(1, 10, 1, 100.f, 1.f);
  const std::vector<uint8_t> src = random_image(1, 10, 6);
  const AnalysisImage img = image_of(src, 2);
  const std::vector<FeatureLayer> layers = invariance_layers(*s.net, {});
  const std::vector<int> acts{layers[0].act, layers[1].act};
  const Forward f0 = forward_one(s, src, acts);
  const std::vector<float> amounts{-2.f, 0.f, 0.5f, 3.f};
  for (int batch : {1, 3, 64}) {
    const InvarianceResult r =
        invariance_sweep(s, img, Transform::Translate, amounts, layers, batch);
    ASSERT_EQ(r.distance.size(), amounts.size() * 2);
    EXPECT_EQ(r.label, 2);
    EXPECT_FALSE(r.label_predicted);
    for (size_t i = 0; i < amounts.size(); ++i) {
      const Forward f =
          forward_one(s, transform_source(s, src.data(), Transform::Translate, amounts[i]), acts);
      for (size_t l = 0; l < 2; ++l) {
        const float *a = f0.acts[l].f32(), *b = f.acts[l].f32();
        double d = 0, na = 0, nb = 0, dot = 0;
        for (int64_t k = 0; k < f.acts[l].numel(); ++k)
          d += (a[k] - b[k]) * (a[k] - b[k]), na += a[k] * a[k], nb += b[k] * b[k],
              dot += a[k] * b[k];
        const double dn = std::sqrt(std::max(0.0, 2 - 2 * dot / std::sqrt(na * nb)));
        const float raw = r.distance[i * 2 + l], norm = r.distance_normalized[i * 2 + l];
        if (amounts[i] == 0.f) {
          EXPECT_EQ(raw, 0.f) << "batch " << batch;  // the same pass: exactly
          EXPECT_EQ(norm, 0.f);
          continue;
        }
        EXPECT_GT(raw, 0.f);
        EXPECT_NEAR(raw, std::sqrt(d), 1e-4 * std::sqrt(na)) << "batch " << batch << " " << i;
        EXPECT_NEAR(norm, dn, 1e-4);
      }
      EXPECT_NEAR(r.p_true[i], f.probs.f32()[2], 1e-5);
      EXPECT_EQ(r.top_class[i], top_class(f.probs, 0));
      EXPECT_NEAR(r.top_prob[i], f.probs.f32()[r.top_class[i]], 1e-5);
    }
  }
}

// An image equal to the data mean everywhere is what every transform fills with: nothing changes,
// at any layer, nor the probabilities.
TEST(InvarianceSweep, ConstantImageAtTheMeanStaysPut) {
  Session s = session(1, 10, 2, 117.f, 0.f);
  const AnalysisImage img = image_of(std::vector<uint8_t>(100, 117));
  const std::vector<FeatureLayer> layers = invariance_layers(*s.net, {"conv1", "conv2", "fc2"});
  const Forward f0 = forward_one(s, img.src, {layers[0].act});
  for (const Sweep& sw : parse_sweeps({"translate", "scale", "rotate"}, {}, {}, 14)) {
    const std::vector<float> amounts = sw.amounts();
    const InvarianceResult r = invariance_sweep(s, img, sw.transform, amounts, layers, 16);
    EXPECT_TRUE(r.label_predicted);
    EXPECT_EQ(r.label, top_class(f0.probs, 0));
    for (size_t i = 0; i < amounts.size(); ++i) {
      for (size_t l = 0; l < layers.size(); ++l) {
        ASSERT_EQ(r.distance[i * 3 + l], 0.f) << transform_name(sw.transform) << amounts[i];
        ASSERT_EQ(r.distance_normalized[i * 3 + l], 0.f);
      }
      EXPECT_EQ(r.p_true[i], r.p_true[0]);
      EXPECT_NEAR(r.p_true[i], f0.probs.f32()[r.label], 1e-6);
      EXPECT_EQ(r.top_class[i], r.label);
    }
  }
}

TEST(InvarianceOptions, DefaultsAreThePapersScaledToTheInput) {
  const std::vector<Sweep> at224 = parse_sweeps({"translate", "scale", "rotate"}, {}, {}, 224);
  ASSERT_EQ(at224.size(), 3u);
  std::vector<float> t = at224[0].amounts(), sc = at224[1].amounts(), r = at224[2].amounts();
  ASSERT_EQ(t.size(), 121u);
  EXPECT_EQ(t.front(), -60.f);
  EXPECT_EQ(t[60], 0.f);
  EXPECT_EQ(t.back(), 60.f);
  ASSERT_EQ(sc.size(), 41u);
  EXPECT_EQ(sc.front(), 1.f);
  EXPECT_NEAR(sc.back(), 1.8f, 1e-6);
  ASSERT_EQ(r.size(), 71u);
  EXPECT_EQ(r.back(), 350.f);
  const std::vector<Sweep> at32 = parse_sweeps({"rotate", "translate"}, {}, {}, 32);
  EXPECT_EQ(at32[0].transform, Transform::Rotate);
  t = at32[1].amounts();
  ASSERT_EQ(t.size(), 121u);
  EXPECT_NEAR(t.front(), -60.f * 32 / 224, 1e-5);
  EXPECT_NEAR(t[1] - t[0], 32.f / 224, 1e-5);
  EXPECT_EQ(t[60], 0.f);  // the identity exactly, though the steps are not whole numbers
  EXPECT_NE(at32[1].origin.find("32/224"), std::string::npos) << at32[1].origin;
}

TEST(InvarianceOptions, OverridesAreTakenAsGiven) {
  const std::vector<Sweep> sw =
      parse_sweeps({"translate", "scale", "rotate"}, {"translate=-3:3", "scale=0.5:1.5"},
                   {"rotate=90", "translate=1.5"}, 32);
  EXPECT_EQ(sw[0].amounts(), (std::vector<float>{-3, -1.5, 0, 1.5, 3}));
  EXPECT_EQ(sw[1].amounts().size(), 51u);  // the default step 0.02
  EXPECT_EQ(sw[1].amounts()[25], 1.f);
  EXPECT_EQ(sw[2].amounts(), (std::vector<float>{0, 90, 180, 270}));
  // A step wider than the range still gives both ends.
  EXPECT_EQ(parse_sweeps({"rotate"}, {"rotate=0:10"}, {"rotate=45"}, 32)[0].amounts(),
            (std::vector<float>{0, 10}));
}

TEST(InvarianceOptions, MistakesAreCliErrorsNamingTheValue) {
  const std::vector<std::string> all{"translate", "scale", "rotate"};
  struct Case {
    std::vector<std::string> transforms, ranges, steps;
    std::string says;
  } cases[] = {
      {all, {"translate=5:-5"}, {}, "--range translate=5:-5: LO is above HI"},
      {all, {"translate=a:3"}, {}, "'a' is not a number"},
      {all, {"translate=1:"}, {}, "'' is not a number"},
      {all, {"translate=1:2x"}, {}, "'2x' is not a number"},
      {all, {"translate=nan:1"}, {}, "'nan' is not a number"},
      {all, {"translate=3"}, {}, "--range translate=3: expected NAME=LO:HI"},
      {all, {"translate"}, {}, "expected NAME=VALUE"},
      {all, {"shear=1:2"}, {}, "unknown transform 'shear'"},
      {all, {"scale=0:2"}, {}, "a scale must be > 0"},
      {all, {"rotate=0:10", "rotate=0:20"}, {}, "rotate given twice"},
      {all, {}, {"rotate=0"}, "--steps rotate=0: the step must be > 0"},
      {all, {}, {"rotate=-5"}, "the step must be > 0"},
      {all, {}, {"scale=x"}, "--steps scale=x: 'x' is not a number"},
      {all, {}, {"rotate=1e-6"}, "--steps rotate=1e-6"},
      {{"rotate"}, {"translate=1:2"}, {}, "translate is not among --transform"},
      {{"rotate", "rotate"}, {}, {}, "--transform rotate: given twice"},
      {{"spin"}, {}, {}, "unknown transform 'spin'"},
      {{}, {}, {}, "no transform"},
  };
  for (const Case& c : cases) {
    const std::string e = cli_error_of([&] { parse_sweeps(c.transforms, c.ranges, c.steps, 32); });
    EXPECT_NE(e.find(c.says), std::string::npos) << "wanted '" << c.says << "', got: " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(InvarianceLayers, DefaultsAreTheFirstConvAndThePenultimateFc) {
  Session s = session(1, 8, 0);
  std::vector<FeatureLayer> l = invariance_layers(*s.net, {});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "conv1");
  EXPECT_EQ(l[1].name, "fc2");
  EXPECT_EQ(s.net->layer(l[1].act).name(), "relu3");  // the rectified output
  // One fc only (the classifier): the last conv layer instead.
  Session one = session(1, 8, 0, 100.f, 0.f,
                        "  - {name: c1, type: conv, filters: 2, kernel: 3, std: 0.3}\n"
                        "  - {name: r1, type: relu}\n"
                        "  - {name: c2, type: conv, filters: 2, kernel: 3, std: 0.3}\n"
                        "  - {name: out, type: fc, outputs: 3, std: 0.3}\n"
                        "  - {name: loss, type: softmax_loss}\n");
  l = invariance_layers(*one.net, {});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "c1");
  EXPECT_EQ(l[1].name, "c2");
  EXPECT_NE(cli_error_of([&] {
              invariance_layers(*s.net, {"conv1", "conv1"});
            }).find("twice"),
            std::string::npos);
  EXPECT_THROW(invariance_layers(*s.net, {"nope"}), Error);
  EXPECT_THROW(invariance_layers(*s.net, {"loss"}), Error);
}

// The whole command from a checkpoint file and two PNG images: the files it writes and what they
// hold; a bad option leaves no output folder.
TEST(InvarianceRun, WritesCsvHdf5AndFigure) {
  const fs::path dir = fs::temp_directory_path() / ("zf_invariance_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Session s = session(1, 12, 2, 80.f, 0.f);
  TrainState st;
  st.norm = s.norm;
  const std::string ckpt = (dir / "net.h5").string();
  save_run_checkpoint(ckpt, *s.net, yaml(1, 12, 2), st);
  std::vector<std::string> files;
  for (int i = 0; i < 2; ++i) {
    Image im;
    im.width = im.height = 12, im.channels = 1;
    im.pixels = random_image(1, 12, 10 + i);
    files.push_back((dir / ("im" + std::to_string(i) + ".png")).string());
    write_png(files.back(), im);
  }
  InvarianceOptions o;
  o.common.checkpoint = ckpt;
  o.common.out = (dir / "out").string();
  o.common.batch = 7;
  o.images.files = files;
  o.images.labels = {1};
  o.ranges = {"translate=-2:2"};
  o.steps = {"translate=1", "rotate=90"};
  InvarianceOptions bad = o;
  bad.steps = {"rotate=0"};
  EXPECT_THROW(run_invariance(bad), CliError);
  EXPECT_FALSE(fs::exists(o.common.out));
  run_invariance(o);
  for (const char* ext : {".csv", ".h5", ".png"})
    EXPECT_TRUE(fs::exists(dir / "out" / (std::string("im1_invariance") + ext))) << ext;
  std::ifstream csv(dir / "out" / "im0_invariance.csv");
  std::string line, header;
  int rows = 0;
  while (std::getline(csv, line)) {
    if (line.rfind("#", 0) == 0) continue;  // the notes
    if (header.empty())
      header = line;
    else
      ++rows;
  }
  EXPECT_EQ(header,
            "transform,amount,conv1_distance,conv1_distance_normalized,fc2_distance,"
            "fc2_distance_normalized,p_true,top_class,top_prob");
  EXPECT_EQ(rows, 5 + 41 + 4);
  h5::quiet_hdf5();
  const std::string h5 = (dir / "out" / "im0_invariance.h5").string();
  h5::H5Handle f(H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f.id, 0);
  EXPECT_EQ(h5::read_attr_i64(f, "label_index", h5), 1);
  EXPECT_EQ(h5::read_attr_i64(f, "label_predicted", h5), 0);
  EXPECT_NE(h5::read_attr_str(f, "fill", h5).find("mean"), std::string::npos);
  std::vector<hsize_t> dims;
  const auto d = h5::read_vector<float>(f, "rotate/distance", H5T_NATIVE_FLOAT, h5, &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{4, 2}));
  EXPECT_EQ(d[0], 0.f);  // rotate 0
  EXPECT_GT(d[2], 0.f);  // rotate 90, conv1
  fs::remove_all(dir);
}
