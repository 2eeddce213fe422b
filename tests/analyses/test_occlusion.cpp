// zf_analyze occlusion's computation (visualize/analyses/occlusion_engine.h): the grid of square
// positions; a closed-form net (ones in, a 1x1 identity filter: the square removes exactly its
// area from the map's sum); the incremental method against the full one on a small ZFNet-shaped
// net with padding, strides, ceil-mode pools, LRN and dropout; and batching that changes nothing,
// bit for bit.
// Run: build/tests/zf_analyze_tests --gtest_filter='Occlusion*'
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/nn/net_spec.h"
#include "core/rng.h"
#include "train/config.h"
#include "visualize/analyses/occlusion_engine.h"

using namespace zf;

namespace {

Net yaml_net(int c, int h, int w, const std::string& layers) {
  const std::string yaml =
      strprintf("input: {channels: %d, height: %d, width: %d}\nlayers:\n", c, h, w) + layers +
      "data: {train: unused}\n";
  return build_net(parse_config(yaml, "test_occlusion.yaml").net);
}

Param& param(Net& net, const std::string& layer, const std::string& which) {
  for (auto& np : net.params())
    if (np.layer == layer && np.param->name == which) return *np.param;
  throw Error("no parameter " + layer + "." + which);
}

std::vector<float> random_values(size_t n, uint64_t stream) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = rng_normal(20131112, stream, i);
  return v;
}

// A ZFNet-shaped stack small enough to run every position: conv with stride 2 and padding, an
// overlapping ceil-mode pool whose last window is clipped (12 -> 6) and whose negative maxima
// reach the next conv (no ReLU between: what lies beyond the edge matters), LRN, a padded conv,
// ReLU, a pool, two fc layers with dropout between.
Net small_zfnet() {
  Net net =
      yaml_net(3, 25, 25,
               "  - {name: conv1, type: conv, filters: 6, kernel: 5, stride: 2, pad: 1, std: 0.3}\n"
               "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
               "  - {name: norm1, type: lrn, size: 3, alpha: 0.1, beta: 0.75, k: 2}\n"
               "  - {name: conv2, type: conv, filters: 8, kernel: 3, pad: 1, std: 0.3}\n"
               "  - {name: relu2, type: relu}\n"
               "  - {name: pool2, type: maxpool, kernel: 2, stride: 2}\n"
               "  - {name: fc3, type: fc, outputs: 12, std: 0.3}\n"
               "  - {name: relu3, type: relu}\n"
               "  - {name: drop3, type: dropout, p: 0.5}\n"
               "  - {name: fc4, type: fc, outputs: 5, std: 0.3}\n"
               "  - {name: loss, type: softmax_loss}\n");
  net.setup(1);
  net.init_params(7);
  return net;
}

}  // namespace

TEST(Occlusion, GridReachesTheFarEdge) {
  EXPECT_EQ(occluder_starts(10, 3, 4), (std::vector<int>{0, 4, 7}));
  EXPECT_EQ(occluder_starts(10, 3, 7), (std::vector<int>{0, 7}));
  EXPECT_EQ(occluder_starts(10, 2, 4), (std::vector<int>{0, 4, 8}));
  EXPECT_EQ(occluder_starts(5, 5, 1), (std::vector<int>{0}));
  EXPECT_THROW(occluder_starts(5, 6, 1), Error);
  EXPECT_THROW(occluder_starts(5, 0, 1), Error);
  EXPECT_THROW(occluder_starts(5, 2, 0), Error);
}

// Ones through a 1x1 identity filter: the map is the image, so a square of zeros takes exactly
// size^2 off its sum wherever it is, and the class probabilities follow in closed form.
TEST(Occlusion, ClosedFormIdentityFilter) {
  Net net = yaml_net(1, 8, 8,
                     "  - {name: conv1, type: conv, filters: 1, kernel: 1}\n"
                     "  - {name: relu1, type: relu}\n"
                     "  - {name: pool1, type: maxpool, kernel: 2, stride: 2}\n"
                     "  - {name: fc2, type: fc, outputs: 2}\n"
                     "  - {name: loss, type: softmax_loss}\n");
  net.setup(1);
  param(net, "conv1", "weight").value.f32()[0] = 1.f;
  param(net, "conv1", "bias").value.zero();
  Param& w = param(net, "fc2", "weight");
  w.value.zero();
  for (int i = 0; i < 16; ++i) w.value.f32()[i] = 0.25f;  // class 0: a quarter of pool1's sum
  param(net, "fc2", "bias").value.zero();
  const std::vector<float> x(64, 1.f), fill(64, 0.f);
  for (bool incremental : {true, false}) {
    OcclusionSpec spec;
    spec.size = 3, spec.stride = 2, spec.act = 1, spec.feature = 0, spec.true_class = 0;
    spec.incremental = incremental;
    const OcclusionMaps m = occlude(net, x, fill, spec);
    ASSERT_EQ(m.ys, (std::vector<int>{0, 2, 4, 5}));
    for (size_t p = 0; p < m.map_sum.size(); ++p) {
      EXPECT_EQ(m.map_sum[p], 64.f - 9.f) << "position " << p;
      // pool1 (2x2/2) keeps a 1 in every window the square leaves a 1 in.
      const int y = m.ys[p / m.xs.size()], xx = m.xs[p % m.xs.size()];
      int zeros = 0;
      for (int py = 0; py < 4; ++py)
        for (int px = 0; px < 4; ++px) {
          const bool covered =
              2 * py >= y && 2 * py + 1 < y + 3 && 2 * px >= xx && 2 * px + 1 < xx + 3;
          zeros += covered;
        }
      const double logit = 0.25 * (16 - zeros);
      EXPECT_NEAR(m.p_true[p], 1.0 / (1.0 + std::exp(-logit)), 1e-6) << "position " << p;
      EXPECT_EQ(m.top[p], 0);
    }
  }
}

// The windows of the early layers give what the whole net gives, at every position (float
// rounding apart: the convolutions run on crops), for a map in the windowed part and one after it.
TEST(Occlusion, IncrementalMatchesFull) {
  Net net = small_zfnet();
  const std::vector<float> x = random_values(3 * 25 * 25, 1), fill = random_values(3 * 25 * 25, 2);
  for (int act : {4, 7}) {  // relu2 (windowed), relu3 (after the first fc)
    OcclusionSpec spec;
    spec.size = 5, spec.stride = 3, spec.act = act, spec.feature = 1, spec.true_class = 2;
    spec.batch = 16;
    spec.incremental = false;
    const OcclusionMaps full = occlude(net, x, fill, spec);
    spec.incremental = true;
    const OcclusionMaps inc = occlude(net, x, fill, spec);
    ASSERT_EQ(full.map_sum.size(), 64u);  // corners 0, 3, .., 18 and 20 (flush): 8 x 8
    for (size_t p = 0; p < full.map_sum.size(); ++p) {
      EXPECT_NEAR(inc.map_sum[p], full.map_sum[p], 1e-4 * (1 + std::fabs(full.map_sum[p])));
      EXPECT_NEAR(inc.p_true[p], full.p_true[p], 1e-5);
      EXPECT_NEAR(inc.top_p[p], full.top_p[p], 1e-5);
    }
  }
}

TEST(Occlusion, BatchingChangesNothingBitForBit) {
  Net net = small_zfnet();
  const std::vector<float> x = random_values(3 * 25 * 25, 3), fill(3 * 25 * 25, 0.f);
  for (bool incremental : {true, false}) {
    OcclusionSpec spec;
    spec.size = 4, spec.stride = 2, spec.act = 4, spec.feature = 3, spec.true_class = 1;
    spec.incremental = incremental;
    spec.batch = 1;
    const OcclusionMaps one = occlude(net, x, fill, spec);
    for (int batch : {7, 64}) {
      spec.batch = batch;
      const OcclusionMaps m = occlude(net, x, fill, spec);
      EXPECT_EQ(m.map_sum, one.map_sum) << "batch " << batch << " incremental " << incremental;
      EXPECT_EQ(m.p_true, one.p_true) << "batch " << batch << " incremental " << incremental;
      EXPECT_EQ(m.top, one.top);
      EXPECT_EQ(m.top_p, one.top_p);
    }
  }
}

// An occluder that paints what is already there changes nothing.
TEST(Occlusion, FillEqualToTheImageChangesNothing) {
  Net net = small_zfnet();
  const std::vector<float> x = random_values(3 * 25 * 25, 4);
  OcclusionSpec spec;
  spec.size = 6, spec.stride = 5, spec.act = 1, spec.feature = 0, spec.true_class = 0;
  const OcclusionMaps m = occlude(net, x, x, spec);
  for (size_t p = 1; p < m.map_sum.size(); ++p) {
    EXPECT_NEAR(m.map_sum[p], m.map_sum[0], 1e-4 * std::fabs(m.map_sum[0]));
    EXPECT_NEAR(m.p_true[p], m.p_true[0], 1e-6);
  }
}

TEST(Occlusion, SpatialPrefixEndsAtTheFirstFc) {
  Net net = small_zfnet();
  EXPECT_EQ(spatial_prefix(net), 6);  // conv1 .. pool2; fc3 mixes all positions
}
