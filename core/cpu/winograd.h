// Winograd's minimal filtering F(2x2, 3x3) for the CPU convolutions of kernel 3 and stride 1
// (ZFNet's conv3..5, Fashion-MNIST's conv3..5): 16 multiplies per 2x2 outputs per channel pair
// instead of 36, as 16 products of (out channels x in channels) by (in channels x tiles). Through
// it also the 5x5 stride-2 convolutions (ZFNet's conv2, on polyphase planes); in training
// F(4x4, 3x3) in its place (tiles_4x4), and F(2x2, 5x5) for the 5x5 stride-1 ones (Fashion-MNIST's
// conv2).
#pragma once

namespace zf::cpu::winograd {

// Whether the fast path runs a convolution of kernel k, stride s and padding p whose output
// planes are out_h x out_w by Winograd's transforms (its input gradient: padding 2 - p, dx's
// planes; its weight gradient: as the convolution): 3x3 at stride 1, 0 <= p <= 2, and at least
// min_tiles() 2x2 tiles per plane. On smaller planes the per-image products are too thin to gain
// (Fashion-MNIST's conv3..5 on 8x8 planes, 16 tiles: their backward 20-40% slower than im2col's);
// ZFNet's 13x13 planes have 49. `batched` (the caller lets an image's bits depend on its batch:
// Context::batch_invariant false) lowers the bound to kBatchedMinTiles, the products then taking
// the tiles of several images.
constexpr int kBatchedMinTiles = 4;
bool applies(int k, int s, int p, int out_h, int out_w, bool batched = false);
int min_tiles();
void set_min_tiles(int tiles);  // default 32; tests set 1 to run small cases through the transforms

// Whether the batch-variant 3x3 convolutions and their input gradients (`batched`: training), and
// the 5x5 stride-2 ones on their polyphase planes, take F(4x4, 3x3) on output planes of at least
// 16 tiles of 4x4 (ZFNet's conv2..5; not Fashion-MNIST's 8x8 planes): 6x6 input tiles, 36
// multiplies per 4x4 outputs per channel pair where F(2x2, 3x3) takes 64, rounding somewhat more
// (its transforms scale by up to 8 and by 1/24). On by default; ZF_WINOGRAD_F2 in the environment
// keeps F(2x2, 3x3) throughout. Batch-invariant products (projections) always take F(2x2, 3x3).
// The weight gradients on such planes take F(4x4, 3x3)'s adjoint (36 products per 4x4 outputs of
// dy instead of F(3x3, 2x2)'s 64).
bool tiles_4x4();
void set_tiles_4x4(bool on);

// y[n][o] = bias[o] + sum over i of x[n][i] (*) g[o][i], for images n < N: a cross-correlation with
// 3x3 filters, stride 1, zero padding p (0 <= p <= 2), x of I channels of H x W, y of O channels
// of (H + 2p - 2) x (W + 2p - 2). The filters g are w[o][i] (w of shape O x I x 3 x 3), or with
// `transposed` w[i][o] turned by 180 degrees (w of shape I x O x 3 x 3): the input gradient of the
// convolution by w, which is the deconvnet's filtering. bias may be null (zero). With `batched`,
// planes under min_tiles() tiles run several images a product (an image's bits then depend on
// its batch); otherwise every product is one image's.
void conv3x3(float* y, const float* x, const float* w, bool transposed, const float* bias, int N,
             int I, int H, int W, int O, int p, bool batched = false);

// F(2x2, 5x5) for the 5x5 stride-1 convolutions (Fashion-MNIST's conv2) and their input gradients
// (padding 4 - p): 36 multiplies per 2x2 outputs per channel pair instead of 100, as 36 products.
// Taken only batch-variant (`batched`: training), on planes of at least kBatchedMinTiles tiles,
// 0 <= p <= 4; conv5x5 is conv3x3 for 5x5 filters (w of shape O x I x 5 x 5, or I x O x 5 x 5
// turned with `transposed`; y of (H + 2p - 4) x (W + 2p - 4)). The weight gradient stays im2col's.
bool applies5x5(int k, int s, int p, int out_h, int out_w, bool batched);
void conv5x5(float* y, const float* x, const float* w, bool transposed, const float* bias, int N,
             int I, int H, int W, int O, int p, bool batched);

// The 5x5 stride-2 convolutions (ZFNet's conv2, 55x55 -> 26x26), forward and both gradients, as
// one 3x3 stride-1 convolution over the input's four polyphase planes (4C channels of (OH + 2) x
// (OW + 2)) by conv3x3 / conv3x3_weight_grad: where applies(3, 1, 0, out_h, out_w, batched) takes
// the output planes. Any padding p; x of C channels of H x W, y of M channels of OH x OW.
bool applies_5x5_stride2(int k, int s, int out_h, int out_w, bool batched);
void conv5x5_stride2(float* y, const float* x, const float* w, const float* bias, int N, int C,
                     int H, int W, int M, int p, int OH, int OW, bool batched);
void conv5x5_stride2_backward_data(float* dx, const float* dy, const float* w, int N, int C, int H,
                                   int W, int M, int p, int OH, int OW, bool batched);
void conv5x5_stride2_weight_grad(float* dw, const float* dy, const float* x, int N, int C, int H,
                                 int W, int M, int p, int OH, int OW, bool batched);

// dw[o][i] = sum over images n < N of the correlation of x[n][i] (padding p) with dy[n][o]: the
// weight gradient of that convolution (dw of shape O x I x 3 x 3, dy of O channels of
// (H + 2p - 2) x (W + 2p - 2)): by F(3x3, 2x2), or where tiles_4x4 takes the planes (`batched`),
// by F(4x4, 3x3)'s adjoint on the same 6x6 tiles.
void conv3x3_weight_grad(float* dw, const float* dy, const float* x, int N, int I, int H, int W,
                         int O, int p, bool batched);

}  // namespace zf::cpu::winograd
