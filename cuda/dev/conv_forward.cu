// conv_forward kernel variants under development (llm.c's dev/cuda style): each variant is checked
// against the CPU reference (zf_core's CPU backend, linked, not copied) and timed with CUDA events
// beside cuDNN's fastest algorithm when built with cuDNN.
//
//   variant 0  the production kernel, through zf::cuda::conv_forward (cuda/conv.cu)
//   variant 1  the same tile code (cuda/conv_gemm.h) with __launch_bounds__(256, 1), the production
//              bound before issue 17: ptxas (sm_90) gave it ~150 registers, one 256-thread block
//              per SM; production now asks for two (128 registers, no spills; see
//              scripts/gpu_model.sh)
//   variant 2  __launch_bounds__(256, 3): 80 registers and 216 bytes of stack, the trade pushed on
//
// Every variant runs in the tile shape production chooses for the case (cuda/conv_tiles.h), so the
// check covers each variant over shapes that exercise the tiles' edges: partial row and column
// tiles, a reduction that is not a multiple of the tile, several row tiles, stride and padding.
//
//   zf_dev_conv_forward [--check] [--small] [--variant V] [--batch N] [--reps R]
//     --check    verify only (no timing); exit status 1 if any variant is wrong
//     --small    only the small shapes (what ctest's emu.dev.conv_forward runs on the emulator)
//     --variant  one variant (default: all)
//     --batch    batch of the ZFNet layer shapes (default 32); --reps timed runs (default 20)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/cudnn_ref.h"
#include "core/backend.h"
#include "core/ops.h"
#include "cuda/conv_gemm.h"

namespace zf::cuda {

// Variants 1 and 2: the production tile code under other launch bounds, in the tile shape T that
// production chooses (one type carries both: a template argument list's comma would split
// ZF_KERNEL's arguments).
template <int MinBlocks, class T>
struct Bounded {
  static constexpr int kMinBlocks = MinBlocks;
  using Tile = T;
};

template <class B>
__global__ void __launch_bounds__(conv_gemm::kGemmThreads, B::kMinBlocks)
    conv_forward_bounded_kernel(conv_gemm::ForwardProblem p, int rows, int cols, int red,
                                int split) {
  conv_gemm::run_block<conv_gemm::Fp32Math<typename B::Tile>>(p, rows, cols, red, split);
}

template <int MinBlocks>
void conv_forward_bounded(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                          const ConvParams& p) {
  using namespace conv_gemm;
  const ConvDims d = dims(x, y, p);
  const int rows = d.M, cols = d.N * d.OH * d.OW, red = d.C * d.k * d.k;
  const int tile = choose_tile(rows, cols);
  const ForwardProblem f{w.f32(), x.f32(), b.f32(), y.f32(), d};
  with_tile(tile, [&](auto shape) {
    using B = Bounded<MinBlocks, decltype(shape)>;
    ZF_KERNEL(conv_forward_bounded_kernel<B>, grid(kTileShapes[tile], rows, cols, 1), kGemmThreads,
              context(x.device()).stream)
    (f, rows, cols, red, 1);
  });
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda

namespace {

using namespace zf;

struct Variant {
  const char* name;
  void (*run)(Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&);
};

const Variant kVariants[] = {
    {"production", zf::cuda::conv_forward},
    {"launch_bounds(256,1)", zf::cuda::conv_forward_bounded<1>},
    {"launch_bounds(256,3)", zf::cuda::conv_forward_bounded<3>},
};

struct Case {
  const char* name;
  Shape x;  // batch 0: --batch
  int64_t out;
  ConvParams p;
  bool small;
};

const Case kCases[] = {
    {"odd, stride 2, padded", Shape{2, 3, 9, 11}, 5, ConvParams{3, 2, 1}, true},
    {"7x7/2 pad 1, odd", Shape{1, 3, 17, 15}, 4, ConvParams{7, 2, 1}, true},
    {"reduction 2400, partial tiles", Shape{1, 96, 7, 7}, 16, ConvParams{5, 2, 0}, true},
    {"384 filters: several row tiles", Shape{2, 32, 4, 4}, 384, ConvParams{3, 1, 1}, true},
    {"1x1", Shape{2, 4, 8, 7}, 6, ConvParams{1, 1, 0}, true},
    {"conv1", Shape{0, 3, 224, 224}, 96, ConvParams{7, 2, 1}, false},
    {"conv2", Shape{0, 96, 55, 55}, 256, ConvParams{5, 2, 0}, false},
    {"conv3", Shape{0, 256, 13, 13}, 384, ConvParams{3, 1, 1}, false},
    {"conv4", Shape{0, 384, 13, 13}, 384, ConvParams{3, 1, 1}, false},
    {"conv5", Shape{0, 384, 13, 13}, 256, ConvParams{3, 1, 1}, false},
};

Tensor uniform(const Shape& s, std::mt19937_64& g) {
  Tensor t(s);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(g);
  return t;
}

// The largest |got - want| / max(|want|, mean |want|), as the tests judge (tests/test_util.h); NaN
// (an element the kernel never wrote: the output is poisoned) counts as infinitely wrong.
double rel_error(const Tensor& got, const Tensor& want) {
  double mean = 0;
  for (int64_t i = 0; i < want.numel(); ++i) mean += std::fabs(want.f32()[i]);
  mean /= static_cast<double>(std::max<int64_t>(1, want.numel()));
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.f32()[i], b = want.f32()[i];
    const double e = std::fabs(a - b) / std::max(std::fabs(b), mean);
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

#ifndef ZF_CUDA_EMULATOR
// Median of `reps` timed runs on the context's stream, after one warm-up run.
template <class F>
double median_ms(int reps, F&& f) {
  cudaStream_t s = context(Device::CUDA).stream;
  f();
  cudaEvent_t a, b;
  ZF_CUDA_CHECK(cudaEventCreate(&a));
  ZF_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    ZF_CUDA_CHECK(cudaEventRecord(a, s));
    f();
    ZF_CUDA_CHECK(cudaEventRecord(b, s));
    ZF_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    ZF_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  ZF_CUDA_CHECK(cudaEventDestroy(a));
  ZF_CUDA_CHECK(cudaEventDestroy(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
#endif

struct Options {
  bool check = false, small = false;
  int variant = -1, batch = 32, reps = 20;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      ZF_CHECK(i + 1 < argc, "%s needs a value", a.c_str());
      return std::atoi(argv[++i]);
    };
    if (a == "--check")
      o.check = true;
    else if (a == "--small")
      o.small = true;
    else if (a == "--variant")
      o.variant = value();
    else if (a == "--batch")
      o.batch = value();
    else if (a == "--reps")
      o.reps = value();
    else
      ZF_THROW("unknown option %s (see the top of cuda/dev/conv_forward.cu)", a.c_str());
  }
  const int n = static_cast<int>(sizeof(kVariants) / sizeof(kVariants[0]));
  ZF_CHECK(o.variant >= -1 && o.variant < n, "--variant %d: there are %d", o.variant, n);
  ZF_CHECK(o.batch > 0 && o.reps > 0, "--batch and --reps must be positive");
  return o;
}

// Checks (and unless --check, times) every chosen variant on one case; false if one is wrong.
bool run_case(const Case& c, const Options& o, std::mt19937_64& g) {
  const Shape xs = c.x[0] ? c.x : Shape{o.batch, c.x[1], c.x[2], c.x[3]};
  Tensor x = uniform(xs, g), w = uniform(Shape{c.out, xs[1], c.p.kernel, c.p.kernel}, g);
  Tensor b = uniform(Shape{c.out}, g);
  const Shape ys = conv_output_shape(xs, static_cast<int>(c.out), c.p);
  Tensor want(ys);
  conv_forward(want, x, w, b, c.p);  // CPU tensors: zf_core's CPU backend
  const Tensor xd = x.to(Device::CUDA), wd = w.to(Device::CUDA), bd = b.to(Device::CUDA);
  Tensor nan(ys);
  std::fill(nan.f32(), nan.f32() + nan.numel(), NAN);
  bool ok = true;
  const int n = static_cast<int>(sizeof(kVariants) / sizeof(kVariants[0]));
  for (int v = 0; v < n; ++v) {
    if (o.variant >= 0 && v != o.variant) continue;
    const Variant& var = kVariants[v];
    Tensor y = nan.to(Device::CUDA);  // poisoned: an unwritten element fails the check
    var.run(y, xd, wd, bd, c.p);
    const double err = rel_error(y.to(Device::CPU), want);
    const bool good = err <= 1e-5;
    ok = ok && good;
    std::printf("%-30s %-26s %-22s max rel error %.2e %s", c.name, xs.str().c_str(), var.name, err,
                good ? "ok" : "WRONG");
#ifndef ZF_CUDA_EMULATOR
    if (!o.check) {
      const double ms = median_ms(o.reps, [&] { var.run(y, xd, wd, bd, c.p); });
      const double flops = 2.0 * static_cast<double>(ys.numel()) * xs[1] * c.p.kernel * c.p.kernel;
      std::printf("  %8.3f ms %8.0f GFLOP/s", ms, flops / ms * 1e-6);
      if (bench::cudnn_built()) {
        const double ref = bench::cudnn_conv_times(static_cast<int>(xs[0]), static_cast<int>(xs[1]),
                                                   static_cast<int>(xs[2]), static_cast<int>(xs[3]),
                                                   static_cast<int>(c.out), c.p.kernel, c.p.stride,
                                                   c.p.pad, o.reps)
                               .fwd_ms;
        std::printf("  cuDNN %8.3f ms (ours/cuDNN %.2f)", ref, ms / ref);
      }
    }
#endif
    std::printf("\n");
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
#ifdef ZF_CUDA_EMULATOR
    o.check = true;  // the emulator has no clock worth reading
#endif
    if (!backend::cuda_available()) {
      std::printf("%s\n", backend::cuda_status().c_str());
      return 0;
    }
    std::mt19937_64 g(7);
    bool ok = true;
    for (const Case& c : kCases)
      if (c.small || !o.small) ok = run_case(c, o, g) && ok;
    std::printf(ok ? "all variants match the CPU reference\n" : "SOME VARIANTS ARE WRONG\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zf_dev_conv_forward: %s\n", e.what());
    return 2;
  }
}
