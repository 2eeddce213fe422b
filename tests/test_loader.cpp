// The loader checks labels on the host, where the data is loaded (the loss ops do not look at them:
// on a GPU that would be a copy to the host every step): a label outside [0, classes) fails the
// batch, naming the data set.
#include <gtest/gtest.h>

#include <cstring>
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
