// The trainer's pieces end to end: config validation with YAML paths, data-set errors naming the
// file, checkpoints (round trip, another architecture, torn files), exact resume, divergence, the
// loader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "core/backend.h"
#include "core/io/checkpoint.h"
#include "core/io/h5io.h"
#include "core/nn/net.h"
#include "core/rng.h"
#include "train/config.h"
#include "train/image_io.h"
#include "train/loader.h"
#include "train/safety.h"
#include "train/trainer.h"
#include "visualize/visualize.h"

namespace fs = std::filesystem;
using namespace zf;

namespace {

const std::string kRepo = ZF_SOURCE_DIR;
const std::string kFashion = "/usr/share/datasets/fashion-mnist";

std::string read_text(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("zf_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& s) const { return (path_ / s).string(); }

 private:
  fs::path path_;
};

void write_text(const std::string& p, const std::string& s) {
  std::ofstream f(p);
  f << s;
}

// The error message of `f`, or "" when it does not throw zf::Error.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// tiny.yaml with `from` replaced by `to` (the test's way to make a broken config).
std::string tiny_with(const std::string& from, const std::string& to) {
  std::string t = read_text(kRepo + "/configs/tiny.yaml");
  size_t at = t.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) t.replace(at, from.size(), to);
  return t;
}

Net net_of(const std::string& yaml, const std::string& name) {
  return build_net(parse_config(yaml, name).net);
}

bool have_fashion() {
  return fs::exists(kFashion + "/train-images-idx3-ubyte.gz");
}

}  // namespace

// ---- configs ------------------------------------------------------------------------------------

TEST(Config, ShippedConfigsParse) {
  for (const char* c : {"tiny", "fashion", "zfnet"}) {
    const std::string p = kRepo + "/configs/" + c + ".yaml";
    if (!fs::exists(p)) continue;
    Config cfg = load_config(p);
    EXPECT_EQ(cfg.name, c);
    EXPECT_NO_THROW(build_net(cfg.net));
  }
}

TEST(Config, BadStrideNamesTheYamlPath) {
  std::string e = error_of([] {
    parse_config(tiny_with("{name: conv2, type: conv, filters: 16, kernel: 3, pad: 1",
                           "{name: conv2, type: conv, filters: 16, kernel: 3, stride: 0, pad: 1"),
                 "bad.yaml");
  });
  EXPECT_NE(e.find("bad.yaml: layers[4].stride: must be >= 1"), std::string::npos) << e;
}

// train.conv_math: fp32 or tf32 (the GPU convolutions' arithmetic); absent: empty, the
// environment's choice.
TEST(Config, ConvMath) {
  EXPECT_EQ(parse_config(tiny_with("batch: 32", "batch: 32"), "c.yaml").train.conv_math, "");
  EXPECT_EQ(parse_config(tiny_with("batch: 32", "batch: 32\n  conv_math: tf32"), "c.yaml")
                .train.conv_math,
            "tf32");
  const std::string e = error_of(
      [] { parse_config(tiny_with("batch: 32", "batch: 32\n  conv_math: tf16"), "c.yaml"); });
  EXPECT_NE(e.find("train.conv_math"), std::string::npos) << e;
  EXPECT_NE(e.find("fp32 or tf32"), std::string::npos) << e;
}

TEST(Config, UnknownKeysAndWrongTypesAreRejected) {
  std::string e = error_of([] {
    parse_config(tiny_with("{name: relu1, type: relu}", "{name: relu1, type: relu, slope: 2}"),
                 "c.yaml");
  });
  EXPECT_NE(e.find("layers[1].slope: unknown key"), std::string::npos) << e;
  e = error_of([] { parse_config(tiny_with("lr: 0.01", "lr: fast"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: train.lr: wrong type"), std::string::npos) << e;
  e = error_of([] { parse_config(tiny_with("batch: 32", "batch: 32\n  batchsize: 4"), "c.yaml"); });
  EXPECT_NE(e.find("train.batchsize: unknown key"), std::string::npos) << e;
  e = error_of([] { parse_config(tiny_with("type: maxpool", "type: avgpool"), "c.yaml"); });
  EXPECT_NE(e.find("unknown layer type 'avgpool'"), std::string::npos) << e;
  e = error_of([] { parse_config("name: x\nlayers: [ {name: a", "broken.yaml"); });
  EXPECT_NE(e.find("broken.yaml: invalid YAML"), std::string::npos) << e;
}

// One validator for every map: misspellings are named as unknown keys with the closest known key
// (even where the key they misspell is required), and wrong YAML node kinds name file and path.
TEST(Config, MisspeltKeysAndWrongNodeKindsNameTheFileAndPath) {
  std::string e = error_of([] {
    parse_config(tiny_with("kernel: 5, pad: 2", "kernal: 5, pad: 2"), "c.yaml");
  });
  EXPECT_NE(e.find("c.yaml: layers[0].kernal: unknown key (did you mean 'kernel'?)"),
            std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("momentum: 0.9", "momentun: 0.9"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: train.momentun: unknown key (did you mean 'momentum'?)"),
            std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("  train: /usr", "  trian: /usr"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: data.trian: unknown key (did you mean 'train'?)"), std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("data:", "datta:"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: datta: unknown key (did you mean 'data'?)"), std::string::npos) << e;
  e = error_of([] { parse_config(tiny_with("lr: 0.01", "lr: [1, 2]"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: train.lr: expected a single value, got a list"), std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("filters: 8,", "filters: {a: 1},"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: layers[0].filters: expected a single value, got a map"),
            std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("snapshots: [1, 2]", "snapshots: 2"), "c.yaml"); });
  EXPECT_NE(e.find("c.yaml: train.snapshots: expected a list of integers"), std::string::npos)
      << e;
  e = error_of([] { parse_config(tiny_with("type: maxpool", "type: maxpol"), "c.yaml"); });
  EXPECT_NE(e.find("did you mean 'maxpool'?"), std::string::npos) << e;
}

// Command-line overrides are applied to the YAML before it is read: checked like the file's own
// values, and the effective text describes the run (and reads back to the same config).
TEST(Config, OverridesAreCheckedAndMakeTheEffectiveText) {
  const std::string text = read_text(kRepo + "/configs/tiny.yaml");
  Config plain = parse_config(text, "tiny.yaml");
  EXPECT_EQ(plain.text, text) << "no overrides: the file's own text";
  Config c = parse_config(text, "tiny.yaml",
                          {{"data.train", "/elsewhere/train"}, {"train.epochs", "5"},
                           {"data.limit_val", "9"}});
  EXPECT_EQ(c.data.train, "/elsewhere/train");
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.data.limit_val, 9);
  EXPECT_EQ(c.train.batch, plain.train.batch);
  Config again = parse_config(c.text, "stored");
  EXPECT_EQ(again.data.train, "/elsewhere/train");
  EXPECT_EQ(again.train.epochs, 5);
  EXPECT_EQ(again.net.layers.size(), plain.net.layers.size());
  std::string e = error_of([&] { parse_config(text, "tiny.yaml", {{"train.epochs", "many"}}); });
  EXPECT_NE(e.find("tiny.yaml: train.epochs: wrong type ('many')"), std::string::npos) << e;
}

TEST(Config, ImpossibleShapesAreRejectedAtLoad) {
  // A 9x9 kernel on the 7x7 maps after pool2 cannot fit.
  std::string e = error_of([] {
    parse_config(tiny_with("{name: fc3, type: fc, outputs: 32, std: 0.05}",
                           "{name: conv3, type: conv, filters: 4, kernel: 9}\n"
                           "  - {name: fc3, type: fc, outputs: 32, std: 0.05}"),
                 "c.yaml");
  });
  EXPECT_NE(e.find("kernel 9 larger than the padded input 7"), std::string::npos) << e;
}

// ---- data sets ----------------------------------------------------------------------------------

TEST(Data, MissingDirectoryAndFilesAreNamed) {
  std::string e = error_of([] { open_folder("/nonexistent/zf_data", 32, 3); });
  EXPECT_NE(e.find("/nonexistent/zf_data: no such directory"), std::string::npos) << e;
  e = error_of([] { open_idx("/nonexistent/train-images", "/nonexistent/train-labels"); });
  EXPECT_NE(e.find("/nonexistent/train-images: no such file"), std::string::npos) << e;
}

TEST(Data, IdxWrongMagicAndWrongSize) {
  TempDir d;
  auto be32 = [](std::ofstream& f, uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  {
    std::ofstream img(d / "x-images"), lab(d / "x-labels");
    be32(img, 0x803), be32(img, 3), be32(img, 2), be32(img, 2);
    img.write("abcdefghijk", 11);  // 3 images of 2x2 need 12 bytes
    be32(lab, 0x801), be32(lab, 3);
    lab.write("\1\2\3", 3);
  }
  std::string e = error_of([&] { open_idx(d / "x-images", d / "x-labels"); });
  EXPECT_NE(e.find("x-images: 27 bytes, but the header promises 3 images of 2x2"),
            std::string::npos)
      << e;
  {
    std::ofstream img(d / "y-images");
    be32(img, 0x801), be32(img, 1), be32(img, 1), be32(img, 1);
  }
  e = error_of([&] { open_idx(d / "y-images", d / "x-labels"); });
  EXPECT_NE(e.find("y-images: not an IDX image file (magic 0x00000801"), std::string::npos) << e;
}

TEST(Data, FolderDecodesAndNamesCorruptFiles) {
  TempDir d;
  fs::create_directories(d / "root/cat");
  fs::create_directories(d / "root/dog");
  Image img;
  img.width = 40, img.height = 30, img.channels = 3;
  img.pixels.resize(40 * 30 * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
  write_png(d / "root/cat/a.png", img);
  std::vector<uint8_t> jpg = encode_jpeg(img, 90);
  std::ofstream(d / "root/dog/b.jpg", std::ios::binary)
      .write(reinterpret_cast<char*>(jpg.data()), jpg.size());
  // A PNG named .jpg decodes by content; a truncated JPEG is reported with its name.
  fs::copy_file(d / "root/cat/a.png", d / "root/dog/c.jpg");
  std::ofstream(d / "root/dog/d.jpg", std::ios::binary)
      .write(reinterpret_cast<char*>(jpg.data()), static_cast<std::streamsize>(jpg.size() / 3));
  auto ds = open_folder(d / "root", 16, 3);
  ASSERT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->num_classes(), 2);
  EXPECT_EQ(ds->class_names()[1], "dog");
  std::vector<uint8_t> chw(ds->image_bytes());
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(ds->image(i, chw.data()));
  std::string e = error_of([&] { ds->image(3, chw.data()); });
  EXPECT_NE(e.find("d.jpg: corrupt"), std::string::npos) << e;
}

TEST(Data, LoaderIsDeterministicAndCoversTheEpoch) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto ds =
      open_idx(kFashion + "/train-images-idx3-ubyte", kFashion + "/train-labels-idx1-ubyte", 100);
  TransformSpec t;
  t.pad = 2, t.crop = 28, t.flip = true, t.normalize = Normalize::ChannelStandardize;
  Normalizer nz = make_normalizer(*ds, t);
  auto run = [&](int threads) {
    Loader::Options o;
    o.batch = 16, o.seed = 5, o.epoch = 3, o.threads = threads, o.drop_last = false;
    Loader l(*ds, t, nz, o);
    std::vector<float> all;
    std::vector<int64_t> idx;
    while (const Batch* b = l.next()) {
      all.insert(all.end(), b->x.f32(), b->x.f32() + b->x.numel());
      idx.insert(idx.end(), b->index.begin(), b->index.end());
    }
    return std::make_pair(all, idx);
  };
  auto a = run(1), b = run(3);
  EXPECT_EQ(a.first, b.first);
  ASSERT_EQ(a.second.size(), 100u);
  std::vector<int64_t> sorted = a.second;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(a.second, epoch_order(100, 5, 3, false));  // shuffled
}

// ---- checkpoints and training -------------------------------------------------------------------

TEST(Checkpoint, RoundTripAndArchitectureMismatch) {
  TempDir d;
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  Net a = net_of(cfg.text, "tiny");
  a.init_params(3);
  TrainState m;
  m.epoch = 4, m.iteration = 77, m.seed = 3, m.lr = 0.5;
  m.metrics.push_back(EpochMetrics{1, 0.5, 2.0, 0.1, 1.9, 0.2, 0.6, 3.0});
  save_run_checkpoint(d / "c.h5", a, cfg.text, m);
  EXPECT_FALSE(fs::exists(d / "c.h5.tmp"));

  Net b = net_of(cfg.text, "tiny");
  RunCheckpoint r = load_run_checkpoint(d / "c.h5", b);
  EXPECT_EQ(r.state.epoch, 4);
  EXPECT_EQ(r.state.iteration, 77);
  EXPECT_EQ(r.state.seed, 3u);
  EXPECT_EQ(r.config, cfg.text);
  EXPECT_EQ(r.arch, a.arch());
  ASSERT_EQ(r.state.metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(r.state.metrics[0].val_top5, 0.6);
  auto pa = a.params(), pb = b.params();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    for (int64_t j = 0; j < pa[i].param->value.numel(); ++j)
      ASSERT_EQ(pa[i].param->value.f32()[j], pb[i].param->value.f32()[j]);

  Net other = net_of(tiny_with("filters: 16", "filters: 12"), "other");
  std::string e = error_of([&] { load_checkpoint(d / "c.h5", other); });
  EXPECT_NE(e.find("checkpoint of another architecture: layer 4"), std::string::npos) << e;

  // A torn copy (half the bytes) and a non-HDF5 file give one clear error.
  std::string bytes = read_text(d / "c.h5");
  write_text(d / "torn.h5", bytes.substr(0, bytes.size() / 2));
  e = error_of([&] { load_checkpoint(d / "torn.h5", b); });
  EXPECT_NE(e.find("torn.h5"), std::string::npos) << e;
  write_text(d / "text.h5", "hello");
  e = error_of([&] { read_run_checkpoint(d / "text.h5"); });
  EXPECT_NE(e.find("text.h5: not an HDF5 file"), std::string::npos) << e;
}

TEST(Train, InterruptedAndResumedRunEndsWithTheSameWeights) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 256, o.limit_val = 64;
  o.out = d / "straight";
  TrainResult full = train(o);
  ASSERT_TRUE(full.finished);
  EXPECT_EQ(full.state.iteration, 16);  // 2 epochs of 256/32

  o.out = d / "interrupted";
  o.max_iters = 11;  // stops in the middle of the second epoch
  TrainResult part = train(o);
  EXPECT_FALSE(part.finished);
  EXPECT_EQ(part.state.iteration, 11);
  o.max_iters = 0;
  o.resume = true;
  TrainResult rest = train(o);
  ASSERT_TRUE(rest.finished);

  Config cfg = load_config(o.config);
  Net a = net_of(cfg.text, "a"), b = net_of(cfg.text, "b");
  load_checkpoint(d / "straight/ckpt/last.h5", a);
  load_checkpoint(d / "interrupted/ckpt/last.h5", b);
  auto pa = a.params(), pb = b.params();
  for (size_t i = 0; i < pa.size(); ++i)
    for (int64_t j = 0; j < pa[i].param->value.numel(); ++j)
      ASSERT_EQ(pa[i].param->value.f32()[j], pb[i].param->value.f32()[j]) << pa[i].layer;
  ASSERT_EQ(full.state.metrics.size(), rest.state.metrics.size());
  for (size_t i = 0; i < full.state.metrics.size(); ++i) {
    EXPECT_EQ(full.state.metrics[i].train_loss, rest.state.metrics[i].train_loss);
    EXPECT_EQ(full.state.metrics[i].val_top1, rest.state.metrics[i].val_top1);
  }
  EXPECT_TRUE(fs::exists(d / "straight/ckpt/epoch_001.h5"));
  EXPECT_TRUE(fs::exists(d / "straight/ckpt/epoch_002.h5"));
  std::string csv = read_text(d / "straight/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
}

// A run whose data paths came from --train-data/--val-data stores them in its checkpoint's config,
// so that the visualization tools find the data without being told again.
TEST(Train, CheckpointsStoreTheEffectiveConfig) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  write_text(d / "moved.yaml", tiny_with("/usr/share/datasets/fashion-mnist/train", "/nowhere/train"));
  TrainOptions o;
  o.config = d / "moved.yaml";
  o.train_data = kFashion + "/train";
  o.val_data = kFashion + "/t10k";
  o.limit_train = 64, o.limit_val = 16, o.max_iters = 1;
  o.out = d / "run";
  train(o);
  const RunCheckpoint ck = read_run_checkpoint(d / "run/ckpt/last.h5");
  const Config stored = parse_config(ck.config, "stored");
  EXPECT_EQ(stored.data.train, kFashion + "/train");
  EXPECT_EQ(stored.data.val, kFashion + "/t10k");
  EXPECT_EQ(stored.data.limit_train, 64);
  Session s = open_session(d / "run/ckpt/last.h5", "", Device::CPU);
  EXPECT_EQ(open_session_data(s, "", 8)->size(), 8);
}

// What a kill may leave unwritten is written again by the resumed run: the metrics.csv row of the
// final epoch (killed after last.h5, before the CSV) and a snapshot missing beside a last.h5 that
// ended its epoch (killed between the two by a version that wrote last.h5 first).
TEST(Train, ResumeRewritesMetricsAndMissingSnapshots) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 128, o.limit_val = 32;
  o.out = d / "run";
  ASSERT_TRUE(train(o).finished);
  const std::string csv = read_text(d / "run/metrics.csv");
  ASSERT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  write_text(d / "run/metrics.csv", csv.substr(0, csv.rfind('\n', csv.size() - 2) + 1));
  const std::string snapshot = read_text(d / "run/ckpt/epoch_002.h5");
  fs::remove(d / "run/ckpt/epoch_002.h5");
  o.resume = true;
  ASSERT_TRUE(train(o).finished);
  EXPECT_EQ(read_text(d / "run/metrics.csv"), csv);
  ASSERT_TRUE(fs::exists(d / "run/ckpt/epoch_002.h5"));
  EXPECT_EQ(read_text(d / "run/ckpt/epoch_002.h5"), snapshot) << "the snapshot, recreated";
}

// The non-finite check names the first parameter or gradient holding NaN or Inf, on every device.
TEST(TrainCuda, NonfiniteParametersAndGradientsAreNamed) {
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  std::vector<Device> devices = {Device::CPU};
  if (backend::cuda_available()) devices.push_back(Device::CUDA);
  for (Device dev : devices) {
    SCOPED_TRACE(device_name(dev));
    Net net = net_of(cfg.text, "tiny");
    net.setup(2);
    net.init_params(1);
    net.to(dev);
    Tensor x(Shape{2, 1, 28, 28}), labels(Shape{2}, Device::CPU, DType::I32);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng_normal(3, 3, static_cast<uint64_t>(i));
    labels.i32()[0] = 1, labels.i32()[1] = 7;
    const Tensor xd = x.to(dev), ld = labels.to(dev);
    RunState rs;
    rs.labels = &ld;
    net.backward(net.forward(xd, rs));
    Tensor count;
    EXPECT_EQ(find_nonfinite(net, true, count), "");
    auto poison = [&](Tensor& t, int64_t at, float v) {
      Tensor h = t.to(Device::CPU);
      h.f32()[at] = v;
      t.copy_from(h);
    };
    Param& conv2_bias = *net.layer(net.find("conv2")).params()[1];
    poison(conv2_bias.grad, 3, INFINITY);
    EXPECT_EQ(find_nonfinite(net, false, count), "") << "gradients not asked for";
    EXPECT_EQ(find_nonfinite(net, true, count), "conv2/bias gradient");
    Param& fc3_weight = *net.layer(net.find("fc3")).params()[0];
    poison(fc3_weight.value, 17, std::nanf(""));
    EXPECT_EQ(find_nonfinite(net, false, count), "fc3/weight");
  }
}

// Data-parallel training's buckets (trainer.h): for any bucket size they tile the gradient block
// from its end down, and each bucket's sum starts once its layers' gradients are final: a copy taken
// when it starts equals the block after the whole backward pass (the block is poisoned before, so
// a bucket started early would copy the poison). The default Comm::sum_start gives the same bits as
// one sum of the block, and the weight reaches every value.
TEST(Train, GradientBucketsTileTheBlockAndStartWhenTheirLayersAreDone) {
  class Recorder : public Comm {
   public:
    int rank() const override { return 0; }
    int size() const override { return 2; }
    int local_rank() const override { return 0; }
    const char* backend() const override { return "recorder"; }
    void sum(float* data, size_t n, float weight) override {
      for (size_t i = 0; i < n; ++i) data[i] *= weight;
      ++sums;
    }
    void sum_start(float* data, size_t n, float weight) override {
      started.push_back({data, std::vector<float>(data, data + n)});
      Comm::sum_start(data, n, weight);
    }
    void broadcast(void*, size_t) override {}
    int max(int v) override { return v; }
    void abort(int) override {}
    std::vector<std::pair<float*, std::vector<float>>> started;
    int sums = 0;
  };
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  Net net = net_of(cfg.text, "tiny");
  net.setup(4);
  net.init_params(1);
  Tensor x(Shape{4, 1, 28, 28}), labels(Shape{4}, Device::CPU, DType::I32);
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng_normal(3, 5, static_cast<uint64_t>(i));
  for (int i = 0; i < 4; ++i) labels.i32()[i] = 2 * i + 1;
  RunState rs;
  rs.labels = &labels;
  const Pass pass = net.forward(x, rs);
  Tensor block = net.param_grad_block();
  std::fill(block.f32(), block.f32() + block.numel(), 12345.f);  // the alignment gaps keep it
  net.backward(pass);
  const std::vector<float> plain(block.f32(), block.f32() + block.numel());
  const size_t n = plain.size();
  // conv1, conv2, fc3 and fc4 hold parameters: 1 byte makes a bucket of each, 4 KiB joins fc4's
  // 1.3 KiB to fc3.
  for (size_t min_bytes : {size_t{1}, size_t{4096}, size_t{25} << 10, size_t{1} << 30}) {
    SCOPED_TRACE(min_bytes);
    const std::vector<GradBucket> buckets = plan_grad_buckets(net, min_bytes);
    ASSERT_FALSE(buckets.empty());
    EXPECT_EQ(buckets.front().end, n);
    EXPECT_EQ(buckets.back().begin, 0u);
    EXPECT_EQ(buckets.back().layer, net.find("conv1"));
    for (size_t k = 0; k + 1 < buckets.size(); ++k) {
      EXPECT_EQ(buckets[k].begin, buckets[k + 1].end) << "bucket " << k;
      EXPECT_GT(buckets[k].layer, buckets[k + 1].layer);
      EXPECT_GE((buckets[k].end - buckets[k].begin) * sizeof(float), min_bytes);
    }
    const size_t expected = min_bytes == 1 ? 4 : min_bytes == 4096 ? 3 : min_bytes == (size_t{1} << 30) ? 1 : 0;
    if (expected > 0) {
      EXPECT_EQ(buckets.size(), expected);
    }
    std::fill(block.f32(), block.f32() + n, 12345.f);
    Recorder rec;
    backward_and_sum(net, pass, rec, 0.5f, min_bytes);
    ASSERT_EQ(rec.started.size(), buckets.size());
    EXPECT_EQ(rec.sums, 1) << "the default sum_start gathers the buckets into one sum";
    for (size_t k = 0; k < buckets.size(); ++k) {
      EXPECT_EQ(rec.started[k].first, block.f32() + buckets[k].begin);
      const std::vector<float>& seen = rec.started[k].second;
      for (size_t i = 0; i < seen.size(); ++i)
        if (seen[i] != plain[buckets[k].begin + i]) {
          ADD_FAILURE() << "bucket " << k << " started before its gradients were final (value "
                        << i << ": " << seen[i] << ")";
          break;
        }
    }
    for (size_t i = 0; i < n; ++i)
      if (block.f32()[i] != plain[i] * 0.5f) {
        ADD_FAILURE() << "value " << i << " of the block: " << block.f32()[i] << " vs "
                      << plain[i] * 0.5f;
        break;
      }
  }
}

// 10-crop evaluation (every view from one decode, several samples' views in one forward pass)
// against the views evaluated one loader at a time: the same loss and accuracies.
TEST(Train, TenCropEvaluationMatchesTheViewsOneByOne) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  DataConfig dc = cfg.data;
  dc.transform.pad = 2, dc.transform.crop = 28, dc.eval_crops = 10, dc.limit_val = 70;
  const std::unique_ptr<Dataset> val = open_dataset(dc, false);
  const Normalizer norm = make_normalizer(*val, dc.transform);
  Net net = net_of(cfg.text, "tiny");
  net.setup(32);
  net.init_params(3);
  const EvalResult got = evaluate(net, *val, dc, norm, 32, true);
  const int64_t N = val->size(), K = 10;
  std::vector<float> probs(N * K, 0.f);
  std::vector<int32_t> labels(N);
  for (int v = 0; v < 10; ++v) {
    Loader::Options o;
    o.batch = 32, o.train = false, o.drop_last = false, o.threads = 1, o.view = v;
    Loader loader(*val, dc.transform, norm, o);
    RunState rs;
    rs.phase = Phase::Eval;
    while (const Batch* b = loader.next()) {
      const Pass pass = net.forward(b->x, rs);
      const Tensor p = pass.probabilities().to(Device::CPU);
      for (int64_t k = 0; k < b->count; ++k) {
        labels[b->index[k]] = b->labels.i32()[k];
        for (int64_t j = 0; j < K; ++j) probs[b->index[k] * K + j] += p.f32()[k * K + j] / 10;
      }
    }
  }
  double loss = 0;
  int64_t top1 = 0;
  for (int64_t i = 0; i < N; ++i) {
    loss -= std::log(std::max(probs[i * K + labels[i]], 1e-30f));
    top1 += std::max_element(&probs[i * K], &probs[i * K] + K) - &probs[i * K] == labels[i];
  }
  EXPECT_EQ(got.count, N);
  EXPECT_NEAR(got.loss, loss / N, 1e-5 * loss / N);
  EXPECT_DOUBLE_EQ(got.top1, static_cast<double>(top1) / N);
}

// A validation label the net cannot output is refused before any training (it was found only
// after the first epoch), and nothing is written.
TEST(Train, AnOutOfRangeValidationLabelIsRefusedBeforeTraining) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  auto be32 = [](std::ofstream& f, uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  {
    std::ofstream img(d / "val-images-idx3-ubyte"), lab(d / "val-labels-idx1-ubyte");
    be32(img, 0x803), be32(img, 4), be32(img, 28), be32(img, 28);
    img.write(std::string(4 * 28 * 28, '\x40').data(), 4 * 28 * 28);
    be32(lab, 0x801), be32(lab, 4);
    lab.write("\1\2\12\3", 4);  // 10: tiny's fc4 has outputs 0..9
  }
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 64;
  o.val_data = d / "val";
  o.out = d / "run";
  const std::string e = error_of([&] { train(o); });
  EXPECT_NE(e.find("val-images-idx3-ubyte: 11 classes but the net has 10 outputs"), std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(d / "run")) << "nothing written";
}

TEST(Train, DivergenceStopsWithTheStepAndKeepsTheLastGoodCheckpoint) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  // One sane epoch (128 images = 4 steps), then a resume from a checkpoint whose weights overflow.
  write_text(d / "ok.yaml", tiny_with("epochs: 2", "epochs: 1"));
  TrainOptions o;
  o.config = d / "ok.yaml";
  o.limit_train = 128, o.limit_val = 32;
  o.out = d / "run";
  train(o);
  // Poison the last layer's bias in the checkpoint with +-FLT_MAX (finite: a checkpoint holding
  // Inf is refused at load), so that the resumed second epoch's first loss overflows.
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  Net net = net_of(cfg.text, "tiny");
  RunCheckpoint meta = load_run_checkpoint(d / "run/ckpt/last.h5", net);
  Tensor& w = net.params().back().param->value;  // fc4/bias
  for (int64_t j = 0; j < w.numel(); ++j)
    w.f32()[j] = std::numeric_limits<float>::max() * (j % 2 ? 1 : -1);
  save_run_checkpoint(d / "run/ckpt/last.h5", net, meta.config, meta.state);
  const std::string before = read_text(d / "run/ckpt/last.h5");
  o.config = kRepo + "/configs/tiny.yaml";
  o.resume = true;
  std::string e;
  try {
    train(o);
  } catch (const Diverged& ex) {
    e = ex.what();
  }
  EXPECT_TRUE(std::regex_search(e, std::regex("diverged at iteration 4 \\(epoch 2\\)"))) << e;
  EXPECT_NE(e.find("run/ckpt/last.h5"), std::string::npos) << e;
  EXPECT_TRUE(read_text(d / "run/ckpt/last.h5") == before) << "last.h5 was rewritten";
}

// ---- CPU vs CUDA --------------------------------------------------------------------------------

TEST(TrainCuda, ThreeStepsOfTinyGiveTheSameWeightsOnCpuAndGpu) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 256, o.limit_val = 64;
  o.max_iters = 3;
  o.device = "cpu";
  o.out = d / "cpu";
  train(o);
  o.device = "cuda";
  o.out = d / "cuda";
  train(o);
  Config cfg = load_config(o.config);
  Net a = net_of(cfg.text, "a"), b = net_of(cfg.text, "b");
  load_checkpoint(d / "cpu/ckpt/last.h5", a);
  load_checkpoint(d / "cuda/ckpt/last.h5", b);
  auto pa = a.params(), pb = b.params();
  for (size_t i = 0; i < pa.size(); ++i) {
    double worst = 0;
    for (int64_t j = 0; j < pa[i].param->value.numel(); ++j) {
      const double x = pa[i].param->value.f32()[j], y = pb[i].param->value.f32()[j];
      worst = std::max(worst, std::fabs(x - y) / std::max(1.0, std::fabs(x)));
    }
    EXPECT_LT(worst, 1e-4) << pa[i].layer << "/" << pa[i].param->name;
  }
}

// zf_project's work on the GPU: mining finds the same hits (image, position; values to 1e-4) and
// the deconvnet projections of the top hits agree with the CPU's, for every ReLU rule.
// No hidden host waits (DESIGN section 8), counted on the emulator (or a GPU) with
// backend::host_waits(). Training: two runs of the real trainer that differ only in their number
// of steps (8 and 3, inside the first epoch, so no evaluation) differ by exactly one device-to-host
// copy per step (the loss statistics) and no synchronization; setup and the checkpoint at the end
// are the same in both and cancel. Projection: a forward pass and three projections wait for
// nothing; reading the result back is the one copy.
TEST(TrainCuda, OneHostWaitPerTrainingStepAndNoneInAProjection) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 512, o.limit_val = 64;  // 16 steps per epoch at batch 32
  o.device = "cuda";
  auto waits_of_run = [&](int64_t steps) {
    o.max_iters = steps;
    o.out = d / ("run" + std::to_string(steps));
    const backend::HostWaits before = backend::host_waits();
    train(o);
    const backend::HostWaits after = backend::host_waits();
    return backend::HostWaits{after.d2h_copies - before.d2h_copies, after.syncs - before.syncs};
  };
  const backend::HostWaits three = waits_of_run(3), eight = waits_of_run(8);
  EXPECT_EQ(eight.d2h_copies - three.d2h_copies, 5u) << "device-to-host copies in 5 steps";
  EXPECT_EQ(eight.syncs - three.syncs, 0u) << "synchronizations in 5 steps";

  Config cfg = load_config(o.config);
  Net net = net_of(cfg.text, "tiny");
  net.init_params(3);
  net.to(Device::CUDA);
  Tensor x(Shape{4, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng_normal(5, 5, static_cast<uint64_t>(i));
  const Tensor xd = x.to(Device::CUDA);
  const int top = net.find("relu2");
  ASSERT_GE(top, 0);
  RunState eval;
  eval.phase = Phase::Eval;
  net.setup(4);
  net.reserve_memory();
  const backend::HostWaits before = backend::host_waits();
  const Pass pass = net.forward_to(xd, top, eval);
  for (ReluRule rule : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
    ProjectOptions po;
    po.rule = rule;
    net.project(pass, pass.output(top), top, po);
  }
  backend::HostWaits w = backend::host_waits();
  EXPECT_EQ(w.d2h_copies - before.d2h_copies, 0u) << "in a forward pass and three projections";
  EXPECT_EQ(w.syncs - before.syncs, 0u) << "in a forward pass and three projections";
  ProjectOptions po;
  const Tensor back = net.project(pass, pass.output(top), top, po).to(Device::CPU);
  EXPECT_EQ(backend::host_waits().d2h_copies - w.d2h_copies, 1u);
  EXPECT_EQ(back.shape(), (Shape{4, 1, 28, 28}));
}

TEST(TrainCuda, MiningAndProjectionOnTheGpuMatchTheCpu) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir d;
  TrainOptions o;
  o.config = kRepo + "/configs/tiny.yaml";
  o.limit_train = 128, o.limit_val = 64;
  o.max_iters = 4;
  o.device = "cpu";
  o.out = d / "run";
  train(o);
  const std::string ck = d / "run/ckpt/last.h5";
  Session cpu = open_session(ck, "", Device::CPU), gpu = open_session(ck, "", Device::CUDA);
  std::unique_ptr<Dataset> ds = open_session_data(cpu, "", 40);
  const std::vector<FeatureLayer> layers = filtering_layers(*cpu.net);
  const std::vector<TopK> a = mine_topk(cpu, *ds, layers, 3, 16),
                          b = mine_topk(gpu, *ds, layers, 3, 16);
  ASSERT_EQ(a.size(), b.size());
  for (size_t l = 0; l < a.size(); ++l)
    for (int f = 0; f < a[l].features(); ++f) {
      const std::vector<Hit> ha = a[l].sorted(f), hb = b[l].sorted(f);
      ASSERT_EQ(ha.size(), hb.size());
      for (size_t i = 0; i < ha.size(); ++i) {
        EXPECT_EQ(ha[i].image, hb[i].image) << layers[l].name << " feature " << f << " hit " << i;
        EXPECT_EQ(ha[i].y, hb[i].y);
        EXPECT_EQ(ha[i].x, hb[i].x);
        EXPECT_NEAR(ha[i].value, hb[i].value, 1e-4 * std::max(1.f, std::fabs(ha[i].value)));
      }
    }
  const FeatureLayer& top = layers.back();
  std::vector<ProjectRequest> req;
  for (int f = 0; f < top.features; ++f) req.push_back({f, a.back().sorted(f).front()});
  for (ReluRule rule : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
    ProjectOptions opt;
    opt.rule = rule;
    const auto pa = project_full(cpu, *ds, top, req, opt, 8),
               pb = project_full(gpu, *ds, top, req, opt, 8);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t r = 0; r < pa.size(); ++r) {
      float scale = 0, worst = 0;
      for (float v : pa[r]) scale = std::max(scale, std::fabs(v));
      for (size_t i = 0; i < pa[r].size(); ++i)
        worst = std::max(worst, std::fabs(pa[r][i] - pb[r][i]));
      EXPECT_LE(worst, 1e-4f * std::max(scale, 1e-20f))
          << relu_rule_name(rule) << ", feature " << r << " (largest |value| " << scale << ")";
    }
  }
}

// The checkpoint's weights are PyTorch's layouts, element for element: conv [out, in, kh, kw], fc
// [out, in], so `torch.from_numpy(h5["params/conv1/weight"][()])` is a Conv2d weight without
// transposes. Checked by recomputing one conv output and one fc output from the raw HDF5 arrays
// with PyTorch's index conventions and comparing them with the net's own forward pass.
TEST(Checkpoint, WeightsAreInPyTorchLayouts) {
  TempDir d;
  Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  Net net = net_of(cfg.text, "tiny");
  net.setup(1);
  net.init_params(9);
  save_checkpoint(d / "c.h5", net, CheckpointHeader{0, 0, net.arch(), ""});

  hid_t f = H5Fopen((d / "c.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> wd, fd;
  const std::vector<float> w =
      h5::read_vector<float>(f, "params/conv1/weight", H5T_NATIVE_FLOAT, "c.h5", &wd);
  const std::vector<float> b =
      h5::read_vector<float>(f, "params/conv1/bias", H5T_NATIVE_FLOAT, "c.h5");
  const std::vector<float> fw =
      h5::read_vector<float>(f, "params/fc4/weight", H5T_NATIVE_FLOAT, "c.h5", &fd);
  H5Fclose(f);
  ASSERT_EQ(wd, (std::vector<hsize_t>{8, 1, 5, 5}));  // Conv2d(1, 8, 5).weight.shape
  ASSERT_EQ(fd, (std::vector<hsize_t>{10, 32}));      // Linear(32, 10).weight.shape

  Tensor x(Shape{1, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng_normal(4, 4, static_cast<uint64_t>(i));
  RunState rs;
  rs.phase = Phase::Eval;
  const Pass pass = net.forward(x, rs);
  // conv1 (pad 2) output channel 3 at (y, x) = (7, 11): PyTorch's cross-correlation,
  // weight[o][c][i][j].
  const int o = 3, oy = 7, ox = 11;
  double ref = b[o];
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      const int iy = oy - 2 + i, ix = ox - 2 + j;
      if (iy >= 0 && iy < 28 && ix >= 0 && ix < 28)
        ref += double(w[(o * 5 + i) * 5 + j]) * x.f32()[iy * 28 + ix];
    }
  EXPECT_NEAR(pass.output(net.find("conv1")).f32()[(o * 28 + oy) * 28 + ox], ref, 1e-4);
  // fc4: y[k] = sum_i weight[k][i] * x[i] + bias[k] (Linear), from fc4's input (drop3's output).
  const Tensor& in = pass.output(net.find("drop3"));
  const Tensor& out = pass.output(net.find("fc4"));
  double y = net.params().back().param->value.f32()[6];  // fc4 bias[6]
  for (int i = 0; i < 32; ++i) y += double(fw[6 * 32 + i]) * in.f32()[i];
  EXPECT_NEAR(out.f32()[6], y, 1e-4);
}
