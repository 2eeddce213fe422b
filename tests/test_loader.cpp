// The loader checks labels on the host, where the data is loaded (the loss ops do not look at them:
// on a GPU that would be a copy to the host every step): a label outside [0, classes) fails the
// batch, naming the data set.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "train/loader.h"

using namespace zf;

namespace {

// Four 1x2x2 images whose labels are given; num_classes() as given.
class TinyDataset : public Dataset {
 public:
  TinyDataset(std::vector<int32_t> labels, int classes) : labels_(labels), classes_(classes) {}
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int channels() const override { return 1; }
  int height() const override { return 2; }
  int width() const override { return 2; }
  int num_classes() const override { return classes_; }
  int32_t label(int64_t i) const override { return labels_[i]; }
  void image(int64_t i, uint8_t* chw) const override {
    std::memset(chw, static_cast<int>(10 * i + 1), image_bytes());
  }
  std::string source() const override { return "tiny.idx"; }

 private:
  std::vector<int32_t> labels_;
  int classes_;
};

// The error of reading every batch (empty when all load).
std::string load_all(const Dataset& ds, int classes = 0) {
  TransformSpec t;
  const Normalizer norm = make_normalizer(ds, t);
  Loader::Options o;
  o.batch = 2, o.train = false, o.drop_last = false, o.threads = 1, o.classes = classes;
  try {
    Loader loader(ds, t, norm, o);
    while (loader.next()) {
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Loader, RejectsALabelOutsideTheClasses) {
  EXPECT_EQ(load_all(TinyDataset({0, 2, 1, 2}, 3)), "");
  const std::string high = load_all(TinyDataset({0, 1, 2, 3}, 3));
  EXPECT_NE(high.find("tiny.idx"), std::string::npos) << high;
  EXPECT_NE(high.find("label 3"), std::string::npos) << high;
  EXPECT_NE(high.find("[0, 3)"), std::string::npos) << high;
  const std::string negative = load_all(TinyDataset({0, -1, 2, 1}, 3));
  EXPECT_NE(negative.find("label -1"), std::string::npos) << negative;
  // The net's class count, when given, is the bound.
  const std::string net = load_all(TinyDataset({0, 1, 2, 1}, 3), 2);
  EXPECT_NE(net.find("label 2"), std::string::npos) << net;
  EXPECT_NE(net.find("net"), std::string::npos) << net;
}

// Data-parallel ranks (train/comm.h): the parts of a training batch, laid end to end, are the batch
// a single loader returns (samples, crops, flips and labels), and each says where it starts.
TEST(Loader, PartsOfABatchMakeTheWholeBatch) {
  TinyDataset ds({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1}, 3);
  TransformSpec t;
  t.pad = 1, t.crop = 2, t.flip = true;
  const Normalizer norm = make_normalizer(ds, t);
  Loader::Options o;
  o.batch = 7, o.train = true, o.seed = 5, o.epoch = 1, o.threads = 1;
  for (int parts : {2, 3, 7}) {
    SCOPED_TRACE(::testing::Message() << parts << " parts");
    Loader whole_again(ds, t, norm, o);
    std::vector<std::unique_ptr<Loader>> ls;
    for (int p = 0; p < parts; ++p) {
      Loader::Options po = o;
      po.part = p, po.parts = parts;
      ls.push_back(std::make_unique<Loader>(ds, t, norm, po));
    }
    while (const Batch* b = whole_again.next()) {
      const int64_t per = b->x.numel() / b->count;
      int64_t at = 0;
      for (auto& l : ls) {
        const Batch* s = l->next();
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(s->offset, at);
        EXPECT_EQ(s->batch_count, b->count);
        for (int64_t k = 0; k < s->count; ++k) {
          EXPECT_EQ(s->index[k], b->index[at + k]);
          EXPECT_EQ(s->labels.i32()[k], b->labels.i32()[at + k]);
          for (int64_t j = 0; j < per; ++j)
            ASSERT_EQ(s->x.f32()[k * per + j], b->x.f32()[(at + k) * per + j]);
        }
        at += s->count;
      }
      EXPECT_EQ(at, b->count);
    }
    for (auto& l : ls) EXPECT_EQ(l->next(), nullptr);
  }
}

// 10-crop evaluation: Options::views = 10 gives each sample's ten views, bit for bit those of ten
// single-view loaders, as consecutive rows, from one decode per image (counted); also split in
// parts as training batches are.
TEST(Loader, TenViewsComeFromOneDecodeEach) {
  class Counting : public Dataset {
   public:
    int64_t size() const override { return 13; }
    int channels() const override { return 2; }
    int height() const override { return 5; }
    int width() const override { return 6; }
    int num_classes() const override { return 3; }
    int32_t label(int64_t i) const override { return static_cast<int32_t>(i % 3); }
    void image(int64_t i, uint8_t* chw) const override {
      ++decodes;
      for (size_t p = 0; p < image_bytes(); ++p) chw[p] = static_cast<uint8_t>(37 * i + 11 * p);
    }
    std::string source() const override { return "counting"; }
    mutable std::atomic<int64_t> decodes{0};
  } ds;
  TransformSpec t;
  t.pad = 1, t.crop = 4, t.normalize = Normalize::ChannelStandardize;
  const Normalizer norm = make_normalizer(ds, t);
  Loader::Options o;
  o.batch = 4, o.train = false, o.drop_last = false, o.threads = 2;
  for (int parts : {1, 2}) {
    SCOPED_TRACE(::testing::Message() << parts << " parts");
    // The reference: one loader per view, every sample.
    std::vector<std::vector<float>> rows(10 * ds.size());
    for (int v = 0; v < 10; ++v) {
      Loader::Options vo = o;
      vo.view = v;
      Loader l(ds, t, norm, vo);
      while (const Batch* b = l.next()) {
        const int64_t per = b->x.numel() / b->count;
        for (int64_t k = 0; k < b->count; ++k)
          rows[b->index[k] * 10 + v].assign(b->x.f32() + k * per, b->x.f32() + (k + 1) * per);
      }
    }
    int64_t seen = 0;
    for (int p = 0; p < parts; ++p) {
      Loader::Options mo = o;
      mo.views = 10, mo.part = p, mo.parts = parts;
      ds.decodes = 0;
      int64_t mine = 0;
      Loader l(ds, t, norm, mo);
      while (const Batch* b = l.next()) {
        ASSERT_EQ(b->x.dim(0), b->count * 10);
        const int64_t per = b->x.numel() / std::max<int64_t>(1, b->x.dim(0));
        for (int64_t k = 0; k < b->count; ++k)
          for (int v = 0; v < 10; ++v) {
            const std::vector<float>& want = rows[b->index[k] * 10 + v];
            if (p == 0 && parts == 1) {  // the plain formula, pixel by pixel (pad columns 0)
              std::vector<uint8_t> img(ds.image_bytes());
              ds.image(b->index[k], img.data());
              ds.decodes--;
              const int crop = t.crop, H = norm.h, W = norm.w;
              const int oy = v % 5 == 4 ? (H - crop) / 2 : (v % 5 / 2) * (H - crop);
              const int ox = v % 5 == 4 ? (W - crop) / 2 : (v % 5 % 2) * (W - crop);
              for (int c = 0; c < 2; ++c)
                for (int y = 0; y < crop; ++y)
                  for (int x = 0; x < crop; ++x) {
                    const int py = oy + y, px = v >= 5 ? ox + crop - 1 - x : ox + x;
                    const int sy = py - t.pad, sx = px - t.pad;
                    const bool in = sy >= 0 && sy < 5 && sx >= 0 && sx < 6;
                    const float pix = in ? img[(c * 5 + sy) * 6 + sx] : 0.f;
                    const float e = (pix - norm.mean[(c * H + py) * W + px]) *
                                    (norm.inv_std[c] * norm.scale);
                    ASSERT_EQ(want[(c * crop + y) * crop + x], e)
                        << "view " << v << " c " << c << " y " << y << " x " << x;
                  }
            }
            ASSERT_EQ(static_cast<int64_t>(want.size()), per);
            for (int64_t j = 0; j < per; ++j)
              ASSERT_EQ(b->x.f32()[(k * 10 + v) * per + j], want[j])
                  << "sample " << b->index[k] << " view " << v;
          }
        mine += b->count;
      }
      EXPECT_EQ(ds.decodes.load(), mine) << "one decode per image of part " << p;
      seen += mine;
    }
    EXPECT_EQ(seen, ds.size());
  }
}
