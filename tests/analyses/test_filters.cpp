// zf_analyze filters (Fig. 6) and the configs it is made with: per-filter RMS and dead filters on
// planted weights, weights read back from checkpoints of different first-layer shapes, the shared
// scale showing a dominating filter where per-filter contrast does not, the command's outputs and
// bad input; and every shipped config (configs/*.yaml, configs/ablations/*.yaml) loading, with
// its net's shapes checked.
// Run: build/tests/zf_analyze_tests --gtest_filter='Filters*:ConfigVariants*'
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/checkpoint.h"
#include "core/nn/net_spec.h"
#include "train/config.h"
#include "visualize/analyses/filters.h"

using namespace zf;
namespace fs = std::filesystem;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

Tensor weights(const Shape& s, const std::vector<float>& v) {
  Tensor t(s);
  EXPECT_EQ(t.numel(), static_cast<int64_t>(v.size()));
  std::copy(v.begin(), v.end(), t.f32());
  return t;
}

// A net whose first layer has `filters` k x k filters over `c` channels, then a conv and a head.
std::string net_yaml(int c, int k, int filters) {
  return strprintf(
      "input: {channels: %d, height: 12, width: 12}\n"
      "data: {train: unused}\nlayers:\n"
      "  - {name: conv1, type: conv, filters: %d, kernel: %d, pad: %d}\n"
      "  - {name: relu1, type: relu}\n"
      "  - {name: conv2, type: conv, filters: 2, kernel: 3}\n"
      "  - {name: fc3, type: fc, outputs: 2}\n"
      "  - {name: loss, type: softmax_loss}\n",
      c, filters, k, k / 2);
}

// The net saved as a checkpoint whose conv1 filter f is `scale[f]` times a fixed pattern
// (alternating +-1).
void save_net(const std::string& path, int c, int k, const std::vector<float>& scale, int epoch) {
  const std::string yaml = net_yaml(c, k, static_cast<int>(scale.size()));
  Net net = build_net(parse_config(yaml, path).net);
  net.init_params(1);
  for (auto& np : net.params())
    if (np.layer == "conv1" && np.param->name == "weight") {
      Tensor& w = np.param->value;
      const int64_t per = w.numel() / w.dim(0);
      for (int64_t i = 0; i < w.numel(); ++i) w.f32()[i] = scale[i / per] * (i % 2 ? -1.f : 1.f);
    }
  CheckpointHeader h;
  h.epoch = epoch;
  h.config = yaml;
  save_checkpoint(path, net, h);
}

struct Files {
  fs::path dir;
  Files() {
    dir = fs::temp_directory_path() /
          ("zf_filters_" +
           std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Files() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

TEST(Filters, RmsAndDeadOnPlantedWeights) {
  const Tensor w = weights(Shape{4, 1, 2, 2},
                           {1, -1, 1, -1, 3, 4, 0, 0, 0.02f, -0.02f, 0.02f, 0.02f, 0, 0, 0, 0.06f});
  const std::vector<double> rms = filter_rms(w);
  EXPECT_NEAR(rms[0], 1.0, 1e-12);
  EXPECT_NEAR(rms[1], 2.5, 1e-12);
  EXPECT_NEAR(rms[2], 0.02, 1e-7);
  EXPECT_NEAR(rms[3], 0.03, 1e-7);
  // 1% of the largest (2.5) is 0.025: filter 2 is dead, filter 3 is not.
  EXPECT_EQ(dead_filters(rms, 0.01), (std::vector<uint8_t>{0, 0, 1, 0}));
  EXPECT_EQ(dead_filters(rms, 0.5), (std::vector<uint8_t>{1, 0, 1, 1}));
  EXPECT_EQ(dead_filters({0.0, 0.0}, 0.01), (std::vector<uint8_t>{1, 1}));
}

TEST(Filters, ReadsTheLayerOfCheckpointsOfAnyShape) {
  Files f;
  save_net(f.path("a.h5"), 3, 5, {1.f, 0.5f, 0.f}, 4);
  save_net(f.path("b.h5"), 1, 9, {0.2f, 0.2f}, 7);
  const FilterSet a = read_filters(f.path("a.h5"), "", 0.01);
  EXPECT_EQ(a.layer, "conv1");
  EXPECT_EQ(a.epoch, 4);
  EXPECT_EQ(a.weight.shape(), (Shape{3, 3, 5, 5}));
  EXPECT_EQ(a.weight.f32()[75], -0.5f);  // filter 1 starts at 75, odd: negative
  EXPECT_EQ(a.weight.f32()[76], 0.5f);
  EXPECT_NEAR(a.rms[1], 0.5, 1e-7);
  EXPECT_EQ(a.dead, (std::vector<uint8_t>{0, 0, 1}));
  const FilterSet b = read_filters(f.path("b.h5"), "", 0.01);
  EXPECT_EQ(b.weight.shape(), (Shape{2, 1, 9, 9}));
  EXPECT_EQ(read_filters(f.path("b.h5"), "conv2", 0.01).weight.shape(), (Shape{2, 2, 3, 3}));
  EXPECT_NE(error_of([&] {
              read_filters(f.path("b.h5"), "fc3", 0.01);
            }).find("b.h5: layer 'fc3' is not a conv layer"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              read_filters(f.path("b.h5"), "conv7", 0.01);
            }).find("no layer named 'conv7' (layers: conv1, relu1, conv2, fc3)"),
            std::string::npos);
  // Both shapes in one picture.
  std::vector<FilterSet> both;
  both.push_back(read_filters(f.path("a.h5"), "", 0.01));
  both.push_back(read_filters(f.path("b.h5"), "", 0.01));
  const Image pic = filters_picture(both, true, 16);
  EXPECT_GT(pic.width, 0);
  EXPECT_EQ(pic.channels, 3);
}

TEST(Filters, SharedScaleShowsTheDominatingFilter) {
  FilterSet s;
  // Filter 0 dominates (|w| = 10), filter 1 is small (0.1), filter 2 is dead: 3x3, 1 channel.
  std::vector<float> v(27, 0.f);
  for (int i = 0; i < 9; ++i) v[i] = i % 2 ? -10.f : 10.f, v[9 + i] = i % 2 ? -0.1f : 0.1f;
  s.weight = weights(Shape{3, 1, 3, 3}, v);
  s.rms = filter_rms(s.weight);
  s.dead = dead_filters(s.rms, 0.01);
  const int cell = 3 * 9 + 4;  // zoom 28 / 3 = 9
  auto px = [&](const Image& g, int f) { return g.at(2, 2 + f * cell, 0); };
  const Image shared = filter_grid(s, 10.f, 16);
  EXPECT_EQ(px(shared, 0), 255);
  EXPECT_EQ(px(shared, 1), 129);  // 128 + 127 * 0.01, near grey: the dominance shows
  EXPECT_EQ(px(shared, 2), 128);
  const Image each = filter_grid(s, 0.f, 16);
  EXPECT_EQ(px(each, 0), 255);
  EXPECT_EQ(px(each, 1), 255);  // its own contrast: as bright as the dominating one
  // The dead filter is outlined in red, the live ones are not.
  EXPECT_EQ(each.at(0, 2 * cell, 0), 220);
  EXPECT_EQ(each.at(0, 2 * cell, 1), 20);
  EXPECT_EQ(each.at(0, cell, 0), 255);
  // Columns wrap: 2 per row gives 2 rows.
  EXPECT_EQ(filter_grid(s, 0.f, 2).height, 2 * cell);
}

TEST(Filters, CommandWritesPicturesTableAndHdf5) {
  Files f;
  save_net(f.path("a.h5"), 3, 5, {1.f, 0.5f, 0.f}, 4);
  save_net(f.path("b.h5"), 1, 9, {0.2f, 0.2f}, 7);
  FiltersOptions o;
  o.checkpoints = {f.path("a.h5"), f.path("b.h5")};
  o.out = f.path("out");
  run_filters(o);
  EXPECT_TRUE(fs::exists(f.path("out/filters_shared.png")));
  EXPECT_TRUE(fs::exists(f.path("out/filters_each.png")));
  EXPECT_TRUE(fs::exists(f.path("out/filters.h5")));
  std::ifstream in(f.path("out/filters.csv"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string csv = ss.str();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 + 2);
  EXPECT_NE(csv.find(f.path("a.h5") + ",4,conv1,2,0,1\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(f.path("b.h5") + ",7,conv1,1,0.2,0\n"), std::string::npos) << csv;
}

TEST(Filters, CommandRefusesBadInputBeforeWriting) {
  Files f;
  save_net(f.path("a.h5"), 3, 5, {1.f, 0.5f}, 1);
  FiltersOptions o;
  o.out = f.path("out");
  o.checkpoints = {f.path("a.h5"), f.path("missing.h5")};
  EXPECT_NE(error_of([&] { run_filters(o); }).find("missing.h5"), std::string::npos);
  o.checkpoints = {f.path("a.h5")};
  o.layer = "fc3";
  EXPECT_NE(error_of([&] { run_filters(o); }).find("not a conv layer"), std::string::npos);
  o.layer = "";
  o.scales = {"log"};
  EXPECT_NE(error_of([&] { run_filters(o); }).find("--scale log"), std::string::npos);
  o.scales = {"shared"};
  o.dead = 1.5;
  EXPECT_NE(error_of([&] { run_filters(o); }).find("--dead 1.5"), std::string::npos);
  std::ofstream(f.path("junk.h5")) << "not hdf5";
  o.dead = 0.01;
  o.checkpoints = {f.path("junk.h5")};
  const std::string e = error_of([&] { run_filters(o); });
  EXPECT_NE(e.find("junk.h5"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(o.out));
}

// ---- configs ------------------------------------------------------------------------------------

namespace {

const LayerSpec& layer_spec(const Config& c, const std::string& name) {
  for (const LayerSpec& l : c.net.layers)
    if (l.name() == name) return l;
  throw Error(c.source + ": no layer " + name);
}

bool has_layer(const Config& c, const std::string& name) {
  for (const LayerSpec& l : c.net.layers)
    if (l.name() == name) return true;
  return false;
}

}  // namespace

TEST(ConfigVariants, EveryShippedConfigLoadsAndItsNetChecks) {
  const std::string root = ZF_SOURCE_DIR;
  int n = 0;
  for (const std::string& dir : {root + "/configs", root + "/configs/ablations"})
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".yaml") continue;
      SCOPED_TRACE(e.path().string());
      const Config c = load_config(e.path().string());
      EXPECT_EQ(c.name, e.path().stem().string());
      EXPECT_NO_THROW(check_net_spec(c.net));
      ++n;
    }
  EXPECT_GE(n, 13);  // tiny, fashion (3), zfnet, 8 ablations
}

TEST(ConfigVariants, VariantsChangeWhatTheySayAndNothingElse) {
  const std::string root = std::string(ZF_SOURCE_DIR) + "/configs/";
  const Config fashion = load_config(root + "fashion.yaml");
  const Config norenorm = load_config(root + "fashion_norenorm.yaml");
  EXPECT_EQ(norenorm.train.renorm_radius, 0.f);
  EXPECT_GT(fashion.train.renorm_radius, 0.f);
  EXPECT_EQ(norenorm.net.layers.size(), fashion.net.layers.size());
  const Config big = load_config(root + "fashion_bigstride.yaml");
  EXPECT_EQ(layer_spec(big, "conv1").get_int("kernel", 0, 1), 9);
  EXPECT_EQ(layer_spec(big, "conv1").get_int("stride", 1, 1), 2);
  EXPECT_EQ(big.train.renorm_radius, fashion.train.renorm_radius);
  EXPECT_NO_THROW(build_net(big.net));  // small enough to build: the shapes chain to fc8
  const std::string ab = root + "ablations/";
  EXPECT_EQ(layer_spec(load_config(ab + "zfnet_fc67_2048.yaml"), "fc7").get_int("outputs", 0, 1),
            2048);
  const Config both = load_config(ab + "zfnet_fc67_8192_conv345_512_1024_512.yaml");
  EXPECT_EQ(layer_spec(both, "fc6").get_int("outputs", 0, 1), 8192);
  EXPECT_EQ(layer_spec(both, "conv4").get_int("filters", 0, 1), 1024);
  const Config removed = load_config(ab + "zfnet_no_conv34_fc67.yaml");
  EXPECT_FALSE(has_layer(removed, "conv3") || has_layer(removed, "relu4") ||
               has_layer(removed, "fc6") || has_layer(removed, "drop7"));
  EXPECT_TRUE(has_layer(removed, "conv5") && has_layer(removed, "fc8"));
}
