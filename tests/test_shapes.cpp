// The shape functions (core/shapes.h): ZFNet's shape table of DESIGN section 3, the edge cases of
// ceil-mode pooling (exact fit, clipped last window, Caffe's "last window starts inside" rule,
// window = input), and both formulas against the counting definitions in naive.cpp over a grid of
// sizes.
#include <gtest/gtest.h>

#include "core/shapes.h"
#include "naive.h"
#include "test_util.h"

using namespace zf;

namespace {

// DESIGN section 3, layer by layer, from a batch of 2 crops of 224x224.
TEST(Shapes, ZFNetTable) {
  const ConvParams conv1{7, 2, 1}, conv2{5, 2, 0}, conv345{3, 1, 1};
  const PoolParams pool{3, 2};
  Shape s{2, 3, 224, 224};
  s = conv_output_shape(s, 96, conv1);
  EXPECT_EQ(s, (Shape{2, 96, 110, 110})) << "conv1";
  s = pool_output_shape(s, pool);
  EXPECT_EQ(s, (Shape{2, 96, 55, 55})) << "pool1";
  s = conv_output_shape(s, 256, conv2);
  EXPECT_EQ(s, (Shape{2, 256, 26, 26})) << "conv2";
  s = pool_output_shape(s, pool);
  EXPECT_EQ(s, (Shape{2, 256, 13, 13})) << "pool2";
  s = conv_output_shape(s, 384, conv345);
  EXPECT_EQ(s, (Shape{2, 384, 13, 13})) << "conv3";
  s = conv_output_shape(s, 384, conv345);
  EXPECT_EQ(s, (Shape{2, 384, 13, 13})) << "conv4";
  s = conv_output_shape(s, 256, conv345);
  EXPECT_EQ(s, (Shape{2, 256, 13, 13})) << "conv5";
  s = pool_output_shape(s, pool);
  EXPECT_EQ(s, (Shape{2, 256, 6, 6})) << "pool5";
  EXPECT_EQ(s.numel() / s[0], 9216) << "fc6 inputs";
}

TEST(Shapes, ZFNetSizesOneAxis) {
  EXPECT_EQ(conv_out_size(224, ConvParams{7, 2, 1}), 110);
  EXPECT_EQ(pool_out_size(110, PoolParams{3, 2}), 55);  // floor mode would give 54
  EXPECT_EQ(conv_out_size(55, ConvParams{5, 2, 0}), 26);
  EXPECT_EQ(pool_out_size(26, PoolParams{3, 2}), 13);  // floor mode would give 12
  EXPECT_EQ(conv_out_size(13, ConvParams{3, 1, 1}), 13);
  EXPECT_EQ(pool_out_size(13, PoolParams{3, 2}), 6);
}

// Floor mode (PyTorch's default, `ceil: false`): the clipped last window is dropped.
TEST(Shapes, PoolFloorMode) {
  EXPECT_EQ(pool_out_size(110, PoolParams{3, 2, false}), 54);
  EXPECT_EQ(pool_out_size(26, PoolParams{3, 2, false}), 12);
  EXPECT_EQ(pool_out_size(8, PoolParams{2, 3, false}), 3);
  EXPECT_EQ(pool_out_size(3, PoolParams{3, 2, false}), 1);
  // torchvision's AlexNet at 224: both modes agree on every pool (55 -> 27, 27 -> 13, 13 -> 6).
  for (int in : {55, 27, 13})
    EXPECT_EQ(pool_out_size(in, PoolParams{3, 2, false}), pool_out_size(in, PoolParams{3, 2}));
}

TEST(Shapes, PoolOutSizeEdgeCases) {
  struct Case {
    int in, kernel, stride, out;
    const char* why;
  };
  const Case cases[] = {
      {3, 3, 2, 1, "window = input"},
      {7, 3, 2, 3, "exact fit: windows at 0, 2, 4"},
      {8, 3, 2, 4, "ceil: a 4th window at 6 clipped to 2 columns"},
      {6, 3, 2, 3, "ceil: window at 4 clipped to 2"},
      {4, 3, 3, 2, "ceil: window at 3 clipped to 1"},
      {6, 2, 3, 2, "Caffe: ceil gives 3, but a window at 6 would start outside the input"},
      {5, 1, 3, 2, "Caffe: window at 6 starts outside"},
      {7, 1, 3, 3, "kernel 1 stride 3: windows at 0, 3, 6"},
      {5, 1, 1, 5, "kernel 1 stride 1: identity"},
      {5, 5, 7, 1, "stride larger than the input"},
      {1, 1, 1, 1, "1x1"},
      {224, 3, 2, 112, "ceil((224-3)/2)+1"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(pool_out_size(c.in, PoolParams{c.kernel, c.stride}), c.out)
        << "in " << c.in << " kernel " << c.kernel << " stride " << c.stride << ": " << c.why;
}

TEST(Shapes, PoolOutSizeAgreesWithCountingDefinition) {
  for (int in = 1; in <= 40; ++in)
    for (int k = 1; k <= std::min(in, 7); ++k)
      for (int s = 1; s <= 5; ++s) {
        const int out = pool_out_size(in, PoolParams{k, s});
        ASSERT_EQ(out, naive::pool_out(in, k, s))
            << "in " << in << " kernel " << k << " stride " << s;
        // Every window starts inside the input and overlaps it; the windows cover the input's end
        // unless the stride skips over it.
        ASSERT_LT((out - 1) * s, in);
        ASSERT_GE((out - 1) * s + k, in - (s > k ? s - k : 0));
      }
}

TEST(Shapes, ConvOutSizeAgreesWithCountingDefinition) {
  for (int in = 1; in <= 30; ++in)
    for (int k = 1; k <= 7; ++k)
      for (int s = 1; s <= 4; ++s)
        for (int p = 0; p <= 3; ++p) {
          if (in + 2 * p < k) {
            EXPECT_THROW(conv_out_size(in, ConvParams{k, s, p}), Error);
            continue;
          }
          ASSERT_EQ(conv_out_size(in, ConvParams{k, s, p}), naive::conv_out(in, k, s, p))
              << "in " << in << " kernel " << k << " stride " << s << " pad " << p;
        }
}

TEST(Shapes, BadParamsThrow) {
  EXPECT_THROW(pool_out_size(2, PoolParams{3, 2}), Error);  // kernel larger than the input
  EXPECT_THROW(pool_out_size(5, PoolParams{3, 0}), Error);
  EXPECT_THROW(pool_out_size(5, PoolParams{0, 1}), Error);
  EXPECT_THROW(pool_out_size(0, PoolParams{1, 1}), Error);
  EXPECT_THROW(conv_out_size(5, ConvParams{3, 0, 0}), Error);
  EXPECT_THROW(conv_out_size(5, ConvParams{0, 1, 0}), Error);
  EXPECT_THROW(conv_out_size(5, ConvParams{3, 1, -1}), Error);
  EXPECT_THROW(conv_out_size(0, ConvParams{1, 1, 1}), Error);
  EXPECT_THROW(conv_output_shape(Shape{3, 8, 8}, 4, ConvParams{}), Error);  // not 4-d
  EXPECT_THROW(conv_output_shape(Shape{2, 3, 8, 8}, 0, ConvParams{}), Error);
  EXPECT_THROW(pool_output_shape(Shape{0, 3, 8, 8}, PoolParams{}), Error);  // empty
  EXPECT_THROW(check_lrn_params(LrnParams{4, 1e-4f, 0.75f, 2.f}), Error);
  EXPECT_THROW(check_lrn_params(LrnParams{0, 1e-4f, 0.75f, 2.f}), Error);
  EXPECT_THROW(check_lrn_params(LrnParams{5, 1e-4f, 0.75f, 0.f}), Error);
  EXPECT_NO_THROW(check_lrn_params(LrnParams{}));
}

// The op name passed to the shape functions is the one their errors carry.
TEST(Shapes, ErrorsNameTheCaller) {
  const std::string e = tu::error_of([] { pool_out_size(2, PoolParams{3, 2}, "my_pool_layer"); });
  EXPECT_NE(e.find("my_pool_layer"), std::string::npos) << e;
}

}  // namespace
