// The output tile shapes of the conv family's implicit GEMM (cuda/conv_gemm.h) and the choice of
// one per launch. Plain host C++, so that the tests can state which shape each ZFNet layer gets.
//
// One 128x128 tile wastes about a third of the work wherever a side of the output is 96 long
// (conv1's filters, conv2's input channels: a quarter of the rows is padding) or just over a tile
// (conv1's weight gradient has 147 columns, 256 issued). Each shape is compiled into every conv
// kernel, and each launch takes the shape that pads its output least.
#pragma once

namespace zf::cuda::conv_gemm {

struct TileShape {
  int bm, bn;  // output rows and columns of one block's tile
  constexpr bool operator==(const TileShape& o) const { return bm == o.bm && bn == o.bn; }
};

// In order of preference on ties: 128x128 first (the most multiply-adds per shared-memory read,
// and the only shape before per-layer tiles), then the 96-row shapes for 96 filters or channels.
// 96x64 is for a short row of columns (conv1's weight gradient: 147 columns in 3 tiles of 64
// instead of 2 of 128); it halves a thread's outputs, so it wins only where it pads less.
// scripts/gpu_model.sh mirrors this table and choose_tile.
constexpr TileShape kTileShapes[] = {{128, 128}, {96, 128}, {96, 64}};
constexpr int kTileShapeCount = sizeof(kTileShapes) / sizeof(kTileShapes[0]);

// The index in kTileShapes of the shape whose tiles cover a rows x cols output with the fewest
// padded elements, the first such on ties. The reduction does not enter: every shape steps through
// it 8 at a time (conv_gemm::BK).
constexpr int choose_tile(int rows, int cols) {
  int best = 0;
  long long best_area = 0;
  for (int i = 0; i < kTileShapeCount; ++i) {
    const TileShape s = kTileShapes[i];
    const long long area = static_cast<long long>((rows + s.bm - 1) / s.bm) * s.bm *
                           (static_cast<long long>((cols + s.bn - 1) / s.bn) * s.bn);
    if (i == 0 || area < best_area) {
      best = i;
      best_area = area;
    }
  }
  return best;
}

}  // namespace zf::cuda::conv_gemm
