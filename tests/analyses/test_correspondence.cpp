// zf_analyze correspondence (Table 1 / Fig. 8): sign disagreement and Delta on planted patterns,
// a closed-form net (1x1 filters +1 and -1 then quadrant-sum fc units: masking a box changes known
// positions of known maps, so every Delta is known exactly) through the measurement and through
// the whole command with files, random box placement, boxes carried into the view, the default
// layers, and bad parts files (one line naming the file and the field).
// Run: build/tests/zf_analyze_tests --gtest_filter='Correspondence*'
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/io/h5io.h"
#include "train/image_io.h"
#include "train/train_state.h"
#include "visualize/analyses/correspondence.h"

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

constexpr int kSide = 8;  // the closed-form net's input side

// 1x8x8 input; conv1: two 1x1 filters, +1 and -1 (no bias), rectified: map 0 = relu(x), map 1 =
// relu(-x); fc2: four units, unit q = the sum of map 0 over quadrant q (4x4), rectified.
std::string net_yaml(int side) {
  return strprintf("input: {channels: 1, height: %d, width: %d}\n", side, side) +
         "data: {train: unused}\n"
         "layers:\n"
         "  - {name: conv1, type: conv, filters: 2, kernel: 1}\n"
         "  - {name: relu1, type: relu}\n"
         "  - {name: fc2, type: fc, outputs: 4}\n"
         "  - {name: relu2, type: relu}\n"
         "  - {name: head, type: fc, outputs: 2}\n"
         "  - {name: loss, type: softmax_loss}\n";
}

Param& param(Net& net, const std::string& layer, const std::string& which) {
  for (auto& np : net.params())
    if (np.layer == layer && np.param->name == which) return *np.param;
  throw Error("no parameter " + layer + "." + which);
}

void set_closed_form(Net& net) {
  net.init_params(5);  // the head (never reached) gets finite values
  float* w1 = param(net, "conv1", "weight").value.f32();
  w1[0] = 1.f, w1[1] = -1.f;
  param(net, "conv1", "bias").value.fill(0.f);
  Tensor& w2 = param(net, "fc2", "weight").value;
  w2.fill(0.f);
  for (int q = 0; q < 4; ++q)
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x)
        if ((y / 4) * 2 + x / 4 == q) w2.f32()[q * 2 * kSide * kSide + y * kSide + x] = 1.f;
  param(net, "fc2", "bias").value.fill(0.f);
}

// Normalization: x = (pixel - 10) * 0.5, so that pixels >= 20 give x > 0.
Normalizer closed_form_norm() {
  Normalizer n;
  n.c = 1, n.h = kSide, n.w = kSide, n.scale = 1.f;
  n.mean.assign(kSide * kSide, 10.f);
  n.inv_std = {0.5f};
  return n;
}

Session closed_form_session() {
  Session s;
  s.cfg = parse_config(net_yaml(kSide), "closed_form.yaml");
  s.net = std::make_unique<Net>(build_net(s.cfg.net));
  set_closed_form(*s.net);
  s.norm = closed_form_norm();
  return s;
}

// A source image of pixels 20 + (7 * i + seed) % 180 (all positive after normalization), or all
// `value` when given.
std::vector<uint8_t> source(int seed, int value = -1) {
  std::vector<uint8_t> px(kSide * kSide);
  for (int i = 0; i < kSide * kSide; ++i)
    px[i] = static_cast<uint8_t>(value >= 0 ? value : 20 + (7 * i + seed) % 180);
  return px;
}

CorrespondenceImage image(const Session& s, const std::vector<uint8_t>& src, Box nose, Box object) {
  CorrespondenceImage im;
  im.name = "img";
  im.view = net_view(s, src.data());
  im.parts["nose"] = nose;
  im.object = object;
  return im;
}

// Sign patterns of n positions: `base` with positions [from, to) changed to `v`.
std::vector<int8_t> planted(const std::vector<int8_t>& base, int from, int to, int8_t v) {
  std::vector<int8_t> p = base;
  for (int i = from; i < to; ++i) p[i] = v;
  return p;
}

}  // namespace

// ---- signs and Delta ----------------------------------------------------------------------------

TEST(Correspondence, TernarySignsKeepExactZeros) {
  const float a[] = {1.f, 2.f, 3.f, 0.f, -1.f, 5.f};
  const float b[] = {0.f, 2.f, 4.f, 0.f, -2.f, 5.f};
  EXPECT_EQ(ternary_signs(a, b, 6), (std::vector<int8_t>{1, 0, -1, 0, 1, 0}));
}

TEST(Correspondence, DeltaIsZeroForIdenticalPatterns) {
  std::vector<int8_t> p(97);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int8_t>(static_cast<int>(i * 7 % 3) - 1);
  EXPECT_EQ(sign_disagreement(p, p), 0.0);
  const PartDelta d = part_delta({p, p, p, p});
  EXPECT_EQ(d.mean, 0.0);
  EXPECT_EQ(d.std, 0.0);
  EXPECT_EQ(d.values.size(), 12u);  // ordered pairs of 4
}

TEST(Correspondence, DeltaIsThePlantedValue) {
  // b differs from a in 10 of 100 positions (+1 -> -1 and 0 -> +1: both count), c in 20 others.
  std::vector<int8_t> a(100, 0);
  for (int i = 0; i < 50; ++i) a[i] = 1;
  std::vector<int8_t> b = planted(planted(a, 0, 5, -1), 60, 65, 1);
  std::vector<int8_t> c = planted(a, 30, 50, 0);
  EXPECT_DOUBLE_EQ(sign_disagreement(a, b), 0.1);
  EXPECT_DOUBLE_EQ(sign_disagreement(a, c), 0.2);
  EXPECT_DOUBLE_EQ(sign_disagreement(b, c), 0.3);
  const PartDelta d = part_delta({a, b, c}, {4, 7, 9}, 3);
  ASSERT_EQ(d.values.size(), 6u);
  EXPECT_NEAR(d.mean, 0.2, 1e-15);
  EXPECT_NEAR(d.std, std::sqrt(0.04 / 6), 1e-15);  // values .1 .2 .1 .3 .2 .3
  EXPECT_EQ(d.pairs[0], (std::array<int, 3>{4, 7, 3}));
  EXPECT_EQ(d.pairs[5], (std::array<int, 3>{9, 7, 3}));
  const PartDelta pooled = pooled_delta({d, part_delta({a, a})});
  EXPECT_EQ(pooled.values.size(), 8u);
  EXPECT_NEAR(pooled.mean, 1.2 / 8, 1e-15);
}

// ---- the closed-form net ------------------------------------------------------------------------

TEST(Correspondence, ClosedFormNetGivesTheKnownDeltas) {
  Session s = closed_form_session();
  const std::vector<FeatureLayer> layers = feature_layers(*s.net, {"conv1", "fc2"});
  const Box whole{0, 0, kSide, kSide};
  // Noses at (0,0), (1,0) (both in quadrant 0) and (4,4) (quadrant 3), 2x2 each.
  const std::vector<CorrespondenceImage> images = {image(s, source(1), Box{0, 0, 2, 2}, whole),
                                                   image(s, source(2), Box{1, 0, 2, 2}, whole),
                                                   image(s, source(3), Box{4, 4, 2, 2}, whole)};
  const auto rows = measure_correspondence(s, images, layers, {"nose"}, 0, mask_fill(s, "mean"), 2);
  ASSERT_EQ(rows.size(), 1u);  // no random row with K = 0
  // conv1 (2 x 64 positions): eps = +1 on the box in map 0, 0 elsewhere (map 1 is 0 either way):
  // pairs differ on the symmetric difference of the boxes: 4, 8, 8 positions.
  const PartDelta& conv = rows[0].by_layer[0];
  EXPECT_NEAR(conv.mean, 20.0 / 3 / 128, 1e-15);
  EXPECT_NEAR(conv.std, std::sqrt(32.0 / 9) / 128, 1e-15);
  // fc2 (4 units): the box's quadrant goes +1: 0, 2, 2 of 4 positions differ.
  const PartDelta& fc = rows[0].by_layer[1];
  EXPECT_NEAR(fc.mean, 1.0 / 3, 1e-15);
  EXPECT_NEAR(fc.std, std::sqrt(1.0 / 18), 1e-15);
}

TEST(Correspondence, FillValueGivesNegativeSignsAndEqualPixelsZero) {
  Session s = closed_form_session();
  const std::vector<FeatureLayer> layers = feature_layers(*s.net, {"conv1"});
  const Box box{2, 2, 2, 2}, whole{0, 0, kSide, kSide};
  // Filled with 255: eps = x - x(255) < 0 on the box; an image that is 255 everywhere has eps = 0.
  const std::vector<CorrespondenceImage> images = {image(s, source(1), box, whole),
                                                   image(s, source(2), box, whole),
                                                   image(s, source(0, 255), box, whole)};
  const MaskFill fill = mask_fill(s, "255");
  EXPECT_FLOAT_EQ(fill.x[0], (255.f - 10.f) * 0.5f);
  const auto rows = measure_correspondence(s, images, layers, {"nose"}, 0, fill, 64);
  // Pairs (0,1): same -1 pattern; (0,2), (1,2): 4 positions of -1 vs 0.
  EXPECT_EQ(rows[0].by_layer[0].values,
            (std::vector<double>{0.0, 4.0 / 128, 0.0, 4.0 / 128, 4.0 / 128, 4.0 / 128}));
}

TEST(Correspondence, RandomBoxesEqualToThePartGiveThePartsDelta) {
  Session s = closed_form_session();
  const std::vector<FeatureLayer> layers = feature_layers(*s.net, {"conv1", "fc2"});
  // The object box is the part: every random box must land on the part itself.
  std::vector<CorrespondenceImage> images = {image(s, source(1), Box{0, 0, 2, 2}, Box{0, 0, 2, 2}),
                                             image(s, source(2), Box{1, 0, 2, 2}, Box{1, 0, 2, 2}),
                                             image(s, source(3), Box{4, 4, 2, 2}, Box{4, 4, 2, 2})};
  for (int i = 0; i < 3; ++i) place_random_boxes(images[i], i, {"nose"}, 5, 9);
  const auto rows = measure_correspondence(s, images, layers, {"nose"}, 5, mask_fill(s, "mean"), 7);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].name, "random");
  EXPECT_EQ(rows[2].name, "random:nose");
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(rows[1].by_layer[l].values.size(), 30u);  // 5 placements x 6 ordered pairs
    EXPECT_NEAR(rows[1].by_layer[l].mean, rows[0].by_layer[l].mean, 1e-15);
    EXPECT_NEAR(rows[1].by_layer[l].std, rows[0].by_layer[l].std, 1e-15);
  }
  EXPECT_EQ(rows[1].by_layer[0].pairs[29], (std::array<int, 3>{2, 1, 4}));
}

TEST(Correspondence, RandomBoxesLieInTheObjectAndFollowTheSeed) {
  CorrespondenceImage a;
  a.object = Box{3, 5, 12, 9};
  a.parts = {{"eye", Box{0, 0, 10, 4}}, {"nose", Box{20, 20, 12, 9}}};
  CorrespondenceImage b = a;
  place_random_boxes(a, 2, {"eye", "nose"}, 200, 11);
  place_random_boxes(b, 2, {"eye", "nose"}, 200, 11);
  std::set<int> xs;
  for (const Box& r : a.random["eye"]) {
    EXPECT_TRUE(r.w == 10 && r.h == 4 && r.x >= 3 && r.x + r.w <= 15 && r.y >= 5 && r.y + r.h <= 14)
        << box_text(r);
    xs.insert(r.x);
  }
  EXPECT_EQ(xs.size(), 3u);  // every free position x = 3, 4, 5 drawn
  for (const Box& r : a.random["nose"]) EXPECT_EQ(r, (Box{3, 5, 12, 9}));
  EXPECT_EQ(a.random["eye"], b.random["eye"]);
  place_random_boxes(b, 3, {"eye", "nose"}, 200, 11);  // another image: other draws
  EXPECT_NE(a.random["eye"], b.random["eye"]);
  place_random_boxes(b, 2, {"eye", "nose"}, 200, 12);  // another seed
  EXPECT_NE(a.random["eye"], b.random["eye"]);
}

// ---- boxes in the view, layers ------------------------------------------------------------------

TEST(Correspondence, BoxesFollowTheResizeAndTheCrops) {
  // chelsea.png's 451x300 at a 32 side: resized to 48x32, columns 8..39 kept.
  EXPECT_EQ(box_to_view(Box{0, 0, 451, 300}, 451, 300, 32, 0, 0), (Box{0, 0, 32, 32}));
  EXPECT_EQ(box_to_view(Box{225, 150, 10, 10}, 451, 300, 32, 0, 0), (Box{16, 16, 1, 1}));
  // Padding shifts the box; a final crop cuts it.
  EXPECT_EQ(box_to_view(Box{0, 0, 28, 28}, 28, 28, 28, 2, 0), (Box{2, 2, 28, 28}));
  EXPECT_EQ(box_to_view(Box{16, 16, 224, 224}, 256, 256, 256, 0, 224), (Box{0, 0, 224, 224}));
  EXPECT_TRUE(box_to_view(Box{0, 0, 10, 10}, 256, 256, 256, 0, 224).empty());
  // A tall image: the rows in the middle are kept.
  EXPECT_EQ(box_to_view(Box{0, 30, 40, 40}, 40, 100, 20, 0, 0), (Box{0, 0, 20, 20}));
}

TEST(Correspondence, BoxesLandWhereTheResizedImageHasThem) {
  Image img;
  img.width = 90, img.height = 60, img.channels = 1;
  img.pixels.assign(90 * 60, 0);
  const Box b{50, 20, 18, 12};
  for (int y = b.y; y < b.y + b.h; ++y)
    for (int x = b.x; x < b.x + b.w; ++x) img.at(y, x, 0) = 255;
  const Image r = resize_center_square(img, 30);
  const Box v = box_to_view(b, 90, 60, 30, 0, 0);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 30; ++x) {
      const bool inside = x >= v.x && x < v.x + v.w && y >= v.y && y < v.y + v.h;
      if (r.at(y, x, 0) > 200) {
        EXPECT_TRUE(inside) << x << "," << y;
      }
      if (r.at(y, x, 0) < 50) {
        EXPECT_FALSE(inside) << x << "," << y;
      }
    }
}

TEST(Correspondence, DefaultLayersAreTheLastConvAndThePenultimateFc) {
  Net fashion = build_net(load_config(std::string(ZF_SOURCE_DIR) + "/configs/fashion.yaml").net);
  EXPECT_EQ(default_correspondence_layers(fashion), (std::vector<std::string>{"conv5", "fc7"}));
  Session s = closed_form_session();  // fc2, then the classifier `head`
  EXPECT_EQ(default_correspondence_layers(*s.net), (std::vector<std::string>{"conv1", "fc2"}));
  Net one_fc = build_net(parse_config("input: {channels: 1, height: 8, width: 8}\n"
                                      "data: {train: unused}\nlayers:\n"
                                      "  - {name: c, type: conv, filters: 2, kernel: 3}\n"
                                      "  - {name: out, type: fc, outputs: 2}\n"
                                      "  - {name: loss, type: softmax_loss}\n",
                                      "one_fc.yaml")
                             .net);
  EXPECT_EQ(default_correspondence_layers(one_fc), (std::vector<std::string>{"c"}));
}

// ---- the parts file -----------------------------------------------------------------------------

namespace {

// Every file is 451x300 except "broken.png", which does not decode.
PartsFile parse(const std::string& text) {
  return parse_parts(text, "parts.json", "/data", [](const std::string& f, int* w, int* h) {
    if (f.find("broken") != std::string::npos) throw Error(f + ": not a JPEG or PNG file");
    *w = 451, *h = 300;
  });
}

// Two images sharing "nose"; `image1` replaces the second image's text.
std::string two(const std::string& image1) {
  return R"({"images": [{"file": "a.png", "object": [0, 0, 400, 300], "parts": {"nose": [10, 10, 20, 20]}}, )" +
         image1 + "]}";
}
const char* kGood =
    R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [30, 40, 20, 20]}})";

std::string parse_error(const std::string& text) {
  return error_of([&] { parse(text); });
}

}  // namespace

TEST(Correspondence, PartsFileParses) {
  const PartsFile pf = parse(
      R"({"note": "x", "images": [{"file": "a.png", "label": 3, "object": [0, 0, 400, 300], "parts": {"nose": [10, 10, 20, 20], "eye": [1, 2, 3, 4]}},
          {"file": "$SKIMAGE/chelsea.png", "object": [0, 0, 451, 300], "parts": {"nose": [30, 40, 20, 20], "eye": [5, 6, 3, 4]}}]})");
  ASSERT_EQ(pf.images.size(), 2u);
  EXPECT_EQ(pf.images[0].file, "/data/a.png");
  EXPECT_EQ(pf.images[1].file, std::string(kSkimageData) + "/chelsea.png");
  EXPECT_EQ(pf.images[0].label, 3);
  EXPECT_EQ(pf.images[1].label, -1);
  EXPECT_EQ(pf.images[1].parts.at("eye"), (Box{5, 6, 3, 4}));
  EXPECT_EQ(pf.part_names, (std::vector<std::string>{"eye", "nose"}));
}

TEST(Correspondence, BadPartsFilesFailInOneLineNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"images": [)", "parts.json: not JSON: parse error"},
      {"[1, 2]", "parts.json: not a JSON object"},
      {R"({"images": [], "extra": 1})", "parts.json: extra: unknown key"},
      {two(kGood).substr(0, 20) + "}", "not JSON"},
      {R"({"images": [{"file": "a.png", "object": [0, 0, 400, 300], "parts": {"nose": [1, 1, 2, 2]}}]})",
       "parts.json: images: missing, or fewer than 2 images"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [440, 10, 20, 20]}})"),
       "parts.json: images[1].parts.nose: box [440,10,20,20] outside the 451x300 image"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [-1, 10, 20, 20]}})"),
       "images[1].parts.nose: box [-1,10,20,20] outside the 451x300 image"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 0, 20]}})"),
       "images[1].parts.nose: box [4,10,0,20] is empty"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 20]}})"),
       "images[1].parts.nose: not a box [x, y, w, h]"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 2.5, 20]}})"),
       "images[1].parts.nose: '2.5' is not an integer"},
      {two(R"({"file": "b.png", "object": [0, 0, 10, 10], "parts": {"nose": [4, 10, 20, 20]}})"),
       "images[1].parts.nose: box [4,10,20,20] larger than the object box [0,0,10,10]"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"eye": [4, 10, 20, 20]}})"),
       "parts.json: parts.eye: in only 1 image"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "part": {"nose": [4, 10, 20, 20]}})"),
       "parts.json: images[1].part: unknown key"},
      {two(R"({"file": "b.png", "parts": {"nose": [4, 10, 20, 20]}})"),
       "images[1].object: missing"},
      {two(R"({"object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 20, 20]}})"),
       "images[1].file: missing"},
      {two(R"({"file": "broken.png", "object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 20, 20]}})"),
       "parts.json: images[1].file: /data/broken.png: not a JPEG or PNG file"},
      {two(R"({"file": "b.png", "label": -2, "object": [0, 0, 400, 300], "parts": {"nose": [4, 10, 20, 20]}})"),
       "images[1].label: must be >= 0"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {}})"),
       "images[1].parts: missing"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"eye/left": [4, 10, 20, 20]}})"),
       "images[1].parts.eye/left: a part's name is letters, digits, '_' and '-', and not 'random'"},
      {two(R"({"file": "b.png", "object": [0, 0, 400, 300], "parts": {"random": [4, 10, 20, 20]}})"),
       "images[1].parts.random: a part's name is"},
  };
  for (const auto& c : cases) {
    const std::string e = parse_error(c.first);
    EXPECT_NE(e.find(c.second), std::string::npos) << "input: " << c.first << "\nerror: " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_EQ(parse_error(two(kGood)), "<no error>");
}

TEST(Correspondence, ShippedPartsFileLoads) {
  const std::string p = std::string(ZF_SOURCE_DIR) + "/configs/parts/skimage_faces.json";
  if (!fs::exists(std::string(kSkimageData) + "/chelsea.png"))
    GTEST_SKIP() << "python3-skimage's photos are not installed";
  const PartsFile pf = load_parts(p, 3);
  EXPECT_GE(pf.images.size(), 2u);
  EXPECT_GE(pf.part_names.size(), 2u);
  // Every box lands in the view of a 32x32 RGB net and of a 224 crop of 256x256 (zfnet.yaml).
  for (const auto& [side, crop] : {std::pair<int, int>{32, 0}, std::pair<int, int>{256, 224}}) {
    const int in = crop ? crop : side;
    Session s;
    s.cfg = parse_config(strprintf("input: {channels: 3, height: %d, width: %d}\n"
                                   "data: {train: unused}\nlayers:\n"
                                   "  - {name: fc, type: fc, outputs: 2}\n"
                                   "  - {name: loss, type: softmax_loss}\n",
                                   in, in),
                         "rgb.yaml");
    s.cfg.data.transform.crop = crop;
    s.net = std::make_unique<Net>(build_net(s.cfg.net));
    s.norm.c = 3, s.norm.h = s.norm.w = side;
    s.norm.mean.assign(3 * side * side, 0.f);
    s.norm.inv_std.assign(3, 1.f);
    const auto images = prepare_parts_images(s, pf, 4, 1);
    for (const auto& im : images)
      for (const auto& p : im.parts) EXPECT_FALSE(p.second.empty()) << im.name << " " << p.first;
  }
}

// ---- the whole command --------------------------------------------------------------------------

namespace {

struct Files {
  fs::path dir;
  Files() {
    dir = fs::temp_directory_path() /
          ("zf_corr_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Files() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

// The closed-form net as a run checkpoint, three 8x8 gray PNGs and a parts file with their noses
// (as in ClosedFormNetGivesTheKnownDeltas) and one eye.
CorrespondenceOptions closed_form_files(const Files& f, const std::string& parts_extra = "") {
  Session s = closed_form_session();
  TrainState ts;
  ts.norm = closed_form_norm();
  save_run_checkpoint(f.path("net.h5"), *s.net, s.cfg.text, ts);
  for (int i = 0; i < 3; ++i) {
    Image img;
    img.width = img.height = kSide, img.channels = 1, img.pixels = source(i + 1);
    write_png(f.path("img" + std::to_string(i) + ".png"), img);
  }
  std::ofstream(f.path("parts.json")) << R"({"images": [
    {"file": "img0.png", "label": 1, "object": [0, 0, 8, 8], "parts": {"nose": [0, 0, 2, 2], "eye": [5, 5, 1, 1]}},
    {"file": "img1.png", "object": [0, 0, 8, 8], "parts": {"nose": [1, 0, 2, 2], "eye": [6, 6, 1, 1]}},
    {"file": "img2.png", "object": [0, 0, 8, 8], "parts": {"nose": [4, 4, 2, 2])"
                                      << parts_extra << "}}]}";
  CorrespondenceOptions o;
  o.common.checkpoint = f.path("net.h5");
  o.common.out = f.path("out");
  o.parts = f.path("parts.json");
  o.random = 3;
  return o;
}

std::string read_text(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(Correspondence, CommandWritesTheTableWithTheClosedFormValues) {
  Files f;
  const CorrespondenceOptions o = closed_form_files(f);
  run_correspondence(o);
  const std::string csv = read_text(f.path("out/correspondence.csv"));
  EXPECT_NE(
      csv.find(strprintf("nose,conv1,%.6f,%.6f,6\n", 20.0 / 3 / 128, std::sqrt(32.0 / 9) / 128)),
      std::string::npos)
      << csv;
  EXPECT_NE(csv.find(strprintf("nose,fc2,%.6f,%.6f,6\n", 1.0 / 3, std::sqrt(1.0 / 18))),
            std::string::npos)
      << csv;
  // The eyes (1 pixel each, in images 0 and 1): conv1 differs on 2 positions, fc2 on none.
  EXPECT_NE(csv.find(strprintf("eye,conv1,%.6f,0.000000,2\n", 2.0 / 128)), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("eye,fc2,0.000000,0.000000,2\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("random,conv1,"), std::string::npos) << csv;
  const std::string md = read_text(f.path("out/correspondence.md"));
  EXPECT_NE(md.find("| nose | 6 |"), std::string::npos) << md;
  EXPECT_NE(md.find("fill: mean"), std::string::npos) << md;
  EXPECT_TRUE(fs::exists(f.path("out/correspondence_masks.png")));
  h5::H5Handle h(H5Fopen(f.path("out/correspondence.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                 H5Fclose);
  ASSERT_GE(h, 0);
  EXPECT_EQ(h5::read_attr_str(h, "signs", "h5"), "ternary: -1, 0, +1; an exact zero is 0");
  std::vector<hsize_t> dims;
  const auto values =
      h5::read_vector<double>(h, "rows/random/conv1/pair_values", H5T_NATIVE_DOUBLE, "h5", &dims);
  EXPECT_EQ(values.size(), 3u * (6 + 2));
  // 3 placements: 6 nose pairs, 2 eye pairs each
}

TEST(Correspondence, CommandRefusesBadInputBeforeWriting) {
  Files f;
  CorrespondenceOptions o = closed_form_files(f);
  o.layers = {"conv9"};
  EXPECT_NE(error_of([&] { run_correspondence(o); }).find("no layer named 'conv9'"),
            std::string::npos);
  o.layers = {};
  o.fill = "grey";
  EXPECT_NE(error_of([&] {
              run_correspondence(o);
            }).find("--fill grey: expected mean or a pixel value 0..255"),
            std::string::npos);
  o.fill = "mean";
  o.parts = f.path("missing.json");
  EXPECT_NE(error_of([&] { run_correspondence(o); }).find("missing.json: cannot open"),
            std::string::npos);
  // A label outside the net's 2 classes.
  std::string text = read_text(f.path("parts.json"));
  text.replace(text.find("\"label\": 1"), 10, "\"label\": 5");
  std::ofstream(f.path("parts.json")) << text;
  o.parts = f.path("parts.json");
  EXPECT_NE(error_of([&] {
              run_correspondence(o);
            }).find("images[0].label: 5 outside the net's classes 0..1"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(o.common.out));
}

TEST(Correspondence, BoxesCutAwayByTheViewAreRefused) {
  // The net sees the central 6x6 of the 8x8 images: a box in the border row is gone.
  Files f;
  closed_form_files(f);
  Session s;
  s.cfg = parse_config(net_yaml(6), "crop.yaml");
  s.cfg.data.transform.crop = 6;
  s.net = std::make_unique<Net>(build_net(s.cfg.net));
  s.norm = closed_form_norm();
  std::ofstream(f.path("crop.json")) << R"({"images": [
    {"file": "img0.png", "object": [0, 0, 8, 8], "parts": {"nose": [0, 0, 8, 1]}},
    {"file": "img1.png", "object": [0, 0, 8, 8], "parts": {"nose": [1, 2, 2, 2]}}]})";
  const PartsFile pf = load_parts(f.path("crop.json"), 1);
  const std::string e = error_of([&] { prepare_parts_images(s, pf, 2, 1); });
  EXPECT_NE(e.find("crop.json: images[0].parts.nose: box [0,0,8,1] falls outside the net's view"),
            std::string::npos)
      << e;
}
