// Tensor basics (shapes, ensure reusing storage, moves, clone, copy_from and reshape checks, dtype
// checks, no silent CUDA fallback) and the counter-based RNG: deterministic per (seed, stream,
// index), streams and seeds independent, Philox4x32-10 known-answer vectors, and the moments of
// rng_uniform and rng_normal.
#include <gtest/gtest.h>

#include <cmath>

#include "core/backend.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "test_util.h"

using namespace zf;

namespace {

TEST(Tensor, ShapeBasics) {
  Shape s{2, 3, 4, 5};
  EXPECT_EQ(s.ndim, 4);
  EXPECT_EQ(s.numel(), 120);
  EXPECT_EQ(s.str(), "[2,3,4,5]");
  EXPECT_EQ(Shape().numel(), 0);  // no dims: empty, not a scalar
  EXPECT_EQ(Shape{7}.str(), "[7]");
  EXPECT_EQ((Shape{2, 0, 3}).numel(), 0);
  EXPECT_TRUE((Shape{2, 3} == Shape{2, 3}));
  EXPECT_TRUE((Shape{2, 3} != Shape{3, 2}));
  EXPECT_TRUE((Shape{6} != Shape{6, 1}));  // same numel, different rank
}

TEST(Tensor, ConstructAndDescribe) {
  Tensor t(Shape{2, 3, 4, 5});
  EXPECT_EQ(t.numel(), 120);
  EXPECT_EQ(t.bytes(), 480u);
  EXPECT_EQ(t.n(), 2);
  EXPECT_EQ(t.c(), 3);
  EXPECT_EQ(t.h(), 4);
  EXPECT_EQ(t.w(), 5);
  EXPECT_TRUE(t.is_cpu());
  EXPECT_EQ(t.desc(), "[2,3,4,5] f32 cpu");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u)
      << "host storage should be 64-byte aligned";
  Tensor i(Shape{3}, Device::CPU, DType::I32);
  EXPECT_EQ(i.desc(), "[3] i32 cpu");
  EXPECT_TRUE(Tensor().empty());
}

TEST(Tensor, ZerosAndFill) {
  Tensor z = Tensor::zeros(Shape{3, 7});
  for (int64_t i = 0; i < z.numel(); ++i) ASSERT_EQ(z.f32()[i], 0.f);
  z.fill(2.5f);
  for (int64_t i = 0; i < z.numel(); ++i) ASSERT_EQ(z.f32()[i], 2.5f);
  Tensor zi = Tensor::zeros(Shape{5}, Device::CPU, DType::I32);
  for (int64_t i = 0; i < zi.numel(); ++i) ASSERT_EQ(zi.i32()[i], 0);
  EXPECT_THROW(zi.fill(1.f), Error);
}

TEST(Tensor, WrongDtypeAccessThrows) {
  Tensor f(Shape{2}), i(Shape{2}, Device::CPU, DType::I32);
  EXPECT_THROW(f.i32(), Error);
  EXPECT_THROW(i.f32(), Error);
}

// ensure() must not reallocate when the storage is large enough: activations and gradients are
// rewritten every step and the VMs' first-touch cost is high (ENVIRONMENT.md).
TEST(Tensor, EnsureReusesStorage) {
  Tensor t(Shape{4, 25});
  void* p = t.raw();
  t.ensure(Shape{10, 10}, Device::CPU);
  EXPECT_EQ(t.raw(), p);
  EXPECT_EQ(t.shape(), (Shape{10, 10}));
  t.ensure(Shape{2, 3, 4, 2}, Device::CPU);  // smaller: same storage
  EXPECT_EQ(t.raw(), p);
  EXPECT_EQ(t.numel(), 48);
  t.ensure(Shape{100}, Device::CPU, DType::I32);  // same bytes as 100 floats
  EXPECT_EQ(t.raw(), p);
  EXPECT_EQ(t.dtype(), DType::I32);
  t.ensure(Shape{4, 25}, Device::CPU);  // back to the original size
  EXPECT_EQ(t.raw(), p);
  t.ensure(Shape{1000}, Device::CPU);  // larger: new storage of the new size
  EXPECT_EQ(t.numel(), 1000);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = static_cast<float>(i);  // writable everywhere
  EXPECT_EQ(t.f32()[999], 999.f);
}

TEST(Tensor, EnsureKeepsContentsWhenNothingChanges) {
  tu::Rng g(301);
  Tensor t = tu::uniform(Shape{3, 4}, g);
  Tensor before = t.clone();
  t.ensure(Shape{3, 4}, Device::CPU);
  EXPECT_TRUE(tu::near(t, before, 0));
}

TEST(Tensor, MoveTransfersStorage) {
  tu::Rng g(302);
  Tensor a = tu::uniform(Shape{5, 6}, g);
  Tensor ref = a.clone();
  void* p = a.raw();
  Tensor b(std::move(a));
  EXPECT_EQ(b.raw(), p);
  EXPECT_TRUE(tu::near(b, ref, 0));
  EXPECT_TRUE(a.raw() ==
              nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_TRUE(a.empty());
  Tensor c(Shape{2});
  c = std::move(b);
  EXPECT_EQ(c.raw(), p);
  EXPECT_EQ(c.shape(), (Shape{5, 6}));
  EXPECT_TRUE(b.empty());
  a = std::move(c);  // a moved-from tensor is usable again
  EXPECT_EQ(a.raw(), p);
}

TEST(Tensor, CloneIsDeep) {
  tu::Rng g(303);
  Tensor a = tu::uniform(Shape{2, 3, 4}, g);
  Tensor b = a.clone();
  EXPECT_NE(a.raw(), b.raw());
  EXPECT_TRUE(tu::near(b, a, 0));
  b.f32()[0] += 1.f;
  EXPECT_NE(a.f32()[0], b.f32()[0]);
  Tensor i = Tensor::zeros(Shape{3}, Device::CPU, DType::I32);
  i.i32()[1] = 42;
  Tensor j = i.clone();
  EXPECT_EQ(j.dtype(), DType::I32);
  EXPECT_EQ(j.i32()[1], 42);
}

TEST(Tensor, CopyFromChecksShapeAndDtype) {
  tu::Rng g(304);
  Tensor a = tu::uniform(Shape{2, 6}, g), b(Shape{2, 6}), c(Shape{3, 4}),
         d(Shape{2, 6}, Device::CPU, DType::I32);
  b.copy_from(a);
  EXPECT_TRUE(tu::near(b, a, 0));
  std::string e = tu::error_of([&] { c.copy_from(a); });  // same numel, other shape
  EXPECT_NE(e.find("copy_from"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,6]"), std::string::npos) << e;
  EXPECT_NE(e.find("[3,4]"), std::string::npos) << e;
  e = tu::error_of([&] { d.copy_from(a); });
  EXPECT_NE(e.find("copy_from"), std::string::npos) << e;
  EXPECT_NE(e.find("i32"), std::string::npos) << e;
}

TEST(Tensor, ReshapeKeepsStorageAndChecksNumel) {
  tu::Rng g(305);
  Tensor a = tu::uniform(Shape{2, 3, 4, 5}, g);
  Tensor ref = a.clone();
  void* p = a.raw();
  a.reshape(Shape{2, 60});
  EXPECT_EQ(a.raw(), p);
  EXPECT_EQ(a.shape(), (Shape{2, 60}));
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.f32()[i], ref.f32()[i]);
  const std::string e = tu::error_of([&] { a.reshape(Shape{7, 17}); });
  EXPECT_NE(e.find("reshape"), std::string::npos) << e;
  EXPECT_NE(e.find("[7,17]"), std::string::npos) << e;
  EXPECT_EQ(a.shape(), (Shape{2, 60})) << "a failed reshape must leave the tensor as it was";
}

TEST(Tensor, ParseDevice) {
  EXPECT_EQ(parse_device("cpu"), Device::CPU);
  EXPECT_EQ(parse_device("cuda"), Device::CUDA);
  EXPECT_THROW(parse_device("gpu"), Error);
  EXPECT_STREQ(device_name(Device::CUDA), "cuda");
  // A GPU's index: cuda is cuda:0, named "cuda" as always.
  EXPECT_EQ(parse_device("cuda:0"), Device::CUDA);
  EXPECT_EQ(parse_device("cuda:3"), Device::cuda(3));
  EXPECT_NE(parse_device("cuda:3"), Device::CUDA);
  EXPECT_NE(Device::CPU, Device::CUDA);
  EXPECT_STREQ(device_name(Device::cuda(3)), "cuda:3");
  EXPECT_STREQ(device_name(Device::CPU), "cpu");
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x", "cuda:99999999999"})
    EXPECT_THROW(parse_device(bad), Error) << bad;
  EXPECT_EQ(Tensor(Shape{2}).device(), Device::CPU);
}

// No silent fallback: without a usable GPU, asking for CUDA memory throws instead of handing out
// host memory.
TEST(Tensor, CudaTensorWithoutGpuThrows) {
  if (backend::cuda_available()) GTEST_SKIP() << "a GPU is present: " << backend::cuda_status();
  EXPECT_FALSE(backend::cuda_status().empty());
  EXPECT_THROW(Tensor(Shape{4}, Device::CUDA), Error);
  Tensor host(Shape{4});
  host.fill(1.f);
  EXPECT_THROW(host.to(Device::CUDA), Error);
}

// ---- RNG
// ------------------------------------------------------------------------------------------------

TEST(Rng, DeterministicPerSeedStreamIndex) {
  for (uint64_t i : {0ull, 1ull, 2ull, 3ull, 4ull, 12345ull, (1ull << 40) + 3}) {
    EXPECT_EQ(rng_u32(7, 3, i), rng_u32(7, 3, i));
    EXPECT_EQ(rng_uniform(7, 3, i), rng_uniform(7, 3, i));
    EXPECT_EQ(rng_normal(7, 3, i), rng_normal(7, 3, i));
  }
}

// Different streams, seeds and indices give unrelated values: equal 32-bit draws are ~n/2^32
// events.
TEST(Rng, StreamsSeedsAndIndicesDiffer) {
  const int n = 10000;
  int same_stream = 0, same_seed = 0, same_next = 0, same_high = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t v = rng_u32(1, 0, i);
    same_stream += v == rng_u32(1, 1, i);
    same_seed += v == rng_u32(2, 0, i);
    same_next += v == rng_u32(1, 0, i + 1);
    same_high += v == rng_u32(1, 0, i + (1ull << 34));  // indices that differ only in the high bits
  }
  EXPECT_LE(same_stream, 1);
  EXPECT_LE(same_seed, 1);
  EXPECT_LE(same_next, 1);
  EXPECT_LE(same_high, 1);
  // Streams that differ only in their upper 32 bits are distinct too.
  int same_stream_high = 0;
  for (int i = 0; i < 1000; ++i)
    same_stream_high += rng_u32(1, 5, i) == rng_u32(1, 5 + (1ull << 32), i);
  EXPECT_LE(same_stream_high, 1);
}

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors), which the
// header names as its generator: counters and keys of all zeros, all ones, and the digits of pi.
TEST(Rng, PhiloxKnownAnswers) {
  struct Kat {
    uint32_t ctr[4];
    uint64_t key;
    uint32_t out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       0xffffffffffffffffull,
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       (static_cast<uint64_t>(0x299f31d0u) << 32) | 0xa4093822u,
       {0xd16cfe09u, 0x94fdcceb, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) {
    const U32x4 r = philox4x32(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key);
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(r.v[j], k.out[j]) << "word " << j << " of ctr " << std::hex << k.ctr[0];
  }
}

TEST(Rng, UniformMoments) {
  const int n = 100000;
  double sum = 0, sq = 0;
  float lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const float u = rng_uniform(99, 4, i);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sq += static_cast<double>(u) * u;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_GE(lo, 0.f);
  EXPECT_LT(hi, 1.f);
  EXPECT_LT(lo, 1e-3f);  // the whole range is reached
  EXPECT_GT(hi, 1 - 1e-3f);
  EXPECT_NEAR(mean, 0.5, 0.005);  // 5 sigma = 5 * sqrt(1/12/n) ~ 0.0046
  EXPECT_NEAR(var, 1.0 / 12.0, 0.002);
}

TEST(Rng, NormalMoments) {
  const int n = 100000;
  double sum = 0, sq = 0, quart = 0;
  int beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng_normal(99, 5, i);
    ASSERT_TRUE(std::isfinite(z)) << i;
    sum += z;
    sq += z * z;
    quart += z * z * z * z;
    beyond3 += std::fabs(z) > 3;
  }
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.016);  // 5 sigma
  EXPECT_NEAR(sd, 1.0, 0.012);
  EXPECT_NEAR(quart / n, 3.0, 0.2);  // Gaussian kurtosis, not merely the right variance
  EXPECT_NEAR(beyond3, 0.0027 * n, 5 * std::sqrt(0.0027 * n));
}

}  // namespace
