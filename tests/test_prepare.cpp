// zf_prepare on a small tree in the real ILSVRC2012 layout (varied sizes and aspect ratios, a
// grayscale, a CMYK, a PNG named .JPEG and a corrupt file), restarts, refusals, then a few
// iterations of zf_train with the real configs/zfnet.yaml on the shards and a 10-crop evaluation.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/rng.h"
#include "train/image_io.h"
#include "train/prepare.h"
#include "train/shards.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace zf;

namespace {

const std::string kRepo = ZF_SOURCE_DIR;
const char* kWnids[] = {"n01440764", "n01443537", "n01484850"};

// A textured RGB picture of w x h: smooth gradients plus a few blocks, different per (seed).
Image picture(int w, int h, uint64_t seed) {
  Image img;
  img.width = w, img.height = h, img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.at(y, x, c) = static_cast<uint8_t>((x * (c + 1) + y * (3 - c) + seed * 40) % 256);
  for (int b = 0; b < 6; ++b) {
    const int bx = static_cast<int>(rng_u32(seed, 1, b) % static_cast<uint32_t>(w));
    const int by = static_cast<int>(rng_u32(seed, 2, b) % static_cast<uint32_t>(h));
    for (int y = by; y < std::min(h, by + h / 5); ++y)
      for (int x = bx; x < std::min(w, bx + w / 5); ++x)
        for (int c = 0; c < 3; ++c)
          img.at(y, x, c) = static_cast<uint8_t>(rng_u32(seed, 3, b * 3 + c));
  }
  return img;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// An Adobe-style (inverted) CMYK JPEG of `img`.
std::vector<uint8_t> cmyk_jpeg(const Image& img) {
  std::vector<uint8_t> cmyk(static_cast<size_t>(img.width) * img.height * 4);
  for (size_t i = 0; i < cmyk.size() / 4; ++i) {
    for (int c = 0; c < 3; ++c) cmyk[4 * i + c] = img.pixels[3 * i + c];
    cmyk[4 * i + 3] = 255;
  }
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(tj, cmyk.data(), img.width, 0, img.height, TJPF_CMYK, &buf, &size,
                        TJSAMP_444, 90, 0),
            0);
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

class Tree {
 public:
  Tree() : root_(fs::temp_directory_path() / ("zf_prepare_" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    const int sizes[][2] = {{500, 375}, {300, 400}, {640, 480}, {120, 90}, {256, 256}, {333, 500}};
    for (int c = 0; c < 3; ++c) {
      const fs::path dir = root_ / "train" / kWnids[c];
      fs::create_directories(dir);
      for (int i = 0; i < 6; ++i) {
        const Image img = picture(sizes[(i + c) % 6][0], sizes[(i + c) % 6][1], c * 10 + i);
        const std::string p =
            (dir / (std::string(kWnids[c]) + "_" + std::to_string(i) + ".JPEG")).string();
        if (i == 1) {
          Image g = img;
          g.channels = 1;
          g.pixels.resize(static_cast<size_t>(g.width) * g.height);
          for (size_t q = 0; q < g.pixels.size(); ++q) g.pixels[q] = img.pixels[3 * q + 1];
          write_bytes(p, encode_jpeg(g, 90));
        } else if (i == 2) {
          write_bytes(p, cmyk_jpeg(img));
        } else if (i == 3) {
          write_png(p, img);  // a PNG disguised as .JPEG
        } else {
          write_bytes(p, encode_jpeg(img, 90));
        }
      }
    }
    write_bytes((root_ / "train" / kWnids[0] / "corrupt.JPEG").string(),
                {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5});
    fs::create_directories(root_ / "val");
    std::ofstream csv(root_ / "LOC_val_solution.csv");
    csv << "ImageId,PredictionString\n";
    for (int i = 0; i < 6; ++i) {
      const std::string name = "ILSVRC2012_val_0000000" + std::to_string(i + 1);
      write_bytes((root_ / "val" / (name + ".JPEG")).string(),
                  encode_jpeg(picture(400, 300, 100 + i), 90));
      csv << name << "," << kWnids[i % 3] << " 10 20 100 200\n";
    }
  }
  ~Tree() { fs::remove_all(root_); }
  PrepareOptions options(const std::string& out) const {
    PrepareOptions o;
    o.train = (root_ / "train").string();
    o.val = (root_ / "val").string();
    o.val_labels = (root_ / "LOC_val_solution.csv").string();
    o.out = (root_ / out).string();
    o.shard_size = 5;
    o.threads = 2;
    return o;
  }
  std::string path(const std::string& p) const { return (root_ / p).string(); }

 private:
  fs::path root_;
};

std::string error_of(const PrepareOptions& o) {
  try {
    prepare(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Prepare, PacksTheTreeHandlesOddFilesAndRestarts) {
  Tree t;
  PrepareOptions o = t.options("out");
  PrepareReport r = prepare(o);
  EXPECT_EQ(r.train_images,
            18);  // gray, CMYK and the disguised PNG converted; the corrupt one skipped
  EXPECT_EQ(r.val_images, 6);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_NE(r.skipped[0].find("corrupt.JPEG"), std::string::npos) << r.skipped[0];
  EXPECT_EQ(r.shards_written, 4 + 2);  // 19 inputs in shards of 5, and 6 validation images

  std::vector<float> mean;
  {  // (closed again before the restarts below: HDF5 would serve a file still open from its cache)
    std::unique_ptr<Dataset> train = open_hdf5(o.out + "/train"), val = open_hdf5(o.out + "/val");
    EXPECT_EQ(train->size(), 18);
    EXPECT_EQ(train->num_classes(), 3);
    EXPECT_EQ(train->height(), 256);
    EXPECT_EQ(train->class_names()[2], kWnids[2]);
    EXPECT_EQ(val->size(), 6);
    for (int64_t i = 0; i < val->size(); ++i) EXPECT_EQ(val->label(i), i % 3);
    std::vector<uint8_t> px(train->image_bytes());
    for (int64_t i = 0; i < train->size(); ++i)
      train->image(i, px.data());  // every stored image decodes
    mean = train->stored_mean();
    ASSERT_EQ(mean.size(), 3u * 256 * 256);
  }

  // A rerun keeps every finished shard; a torn shard is redone.
  const auto stamp = fs::last_write_time(o.out + "/train-00000.h5");
  r = prepare(o);
  EXPECT_EQ(r.shards_written, 0);
  EXPECT_EQ(r.shards_kept, 6);
  EXPECT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(fs::last_write_time(o.out + "/train-00000.h5"), stamp);
  fs::resize_file(o.out + "/train-00002.h5", fs::file_size(o.out + "/train-00002.h5") / 2);
  r = prepare(o);
  EXPECT_EQ(r.shards_written, 1);
  EXPECT_EQ(r.train_images, 18);
  EXPECT_EQ(open_hdf5(o.out + "/train")->size(), 18);
  EXPECT_EQ(read_packed_meta(o.out + "/meta.h5").mean, mean);
}

TEST(Prepare, BadInputIsRefusedAndNothingIsOverwritten) {
  Tree t;
  PrepareOptions o = t.options("out");
  prepare(o);
  const auto stamp = fs::last_write_time(o.out + "/train-00000.h5");
  PrepareOptions raw = o;
  raw.store = "raw";
  EXPECT_NE(error_of(raw).find("holds shards of another configuration"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(o.out + "/train-00000.h5"), stamp);

  PrepareOptions missing = t.options("out2");
  missing.train = t.path("nope");
  EXPECT_NE(error_of(missing).find("nope: no such directory (--train)"), std::string::npos);

  std::ofstream(t.path("short.txt")) << "ILSVRC2012_val_00000001.JPEG n01440764\n";
  PrepareOptions labels = t.options("out3");
  labels.val_labels = t.path("short.txt");
  EXPECT_NE(error_of(labels).find("does not match the images"), std::string::npos);

  std::ofstream(t.path("foreign.txt")) << "ILSVRC2012_val_00000001 n09999999\n";
  labels.val_labels = t.path("foreign.txt");
  EXPECT_NE(error_of(labels).find("not a training class"), std::string::npos);
  EXPECT_FALSE(fs::exists(t.path("out3/train-00000.h5")));
}

TEST(Prepare, ZfnetTrainsAFewIterationsAndEvaluatesTenCrops) {
  Tree t;
  PrepareOptions o = t.options("out");
  prepare(o);
  TrainOptions to;
  to.config = kRepo + "/configs/zfnet.yaml";
  to.train_data = o.out + "/train";
  to.val_data = o.out + "/val";
  to.batch = 6;
  to.max_iters = 2;
  to.device = "cpu";
  to.out = t.path("run");
  TrainResult r = train(to);
  EXPECT_EQ(r.state.iteration, 2);
  EXPECT_TRUE(fs::exists(t.path("run/ckpt/last.h5")));
  to.evaluate_only = true;
  r = train(to);
  ASSERT_EQ(r.state.metrics.size(), 1u);
  const EpochMetrics& m = r.state.metrics.back();
  EXPECT_TRUE(std::isfinite(m.val_loss));
  EXPECT_GE(m.val_top1, 0.0);
  EXPECT_LE(m.val_top1, m.val_top5);
  EXPECT_NEAR(m.val_loss, std::log(1000.0),
              1.0);  // barely trained: close to chance over 1000 classes
}
