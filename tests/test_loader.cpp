// The loader checks labels on the host, where the data is loaded (the loss ops do not look at them:
// on a GPU that would be a copy to the host every step): a label outside [0, classes) fails the
// batch, naming the data set.
#include <gtest/gtest.h>

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
