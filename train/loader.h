// Transforms and the background batch loader.
//
// A sample is built in pixel space, then normalized: zero-pad by `pad`, cut a crop (random in
// training, central or one of the ten 4-corners+center(+flips) views in evaluation), flip at random
// in training, subtract the mean (per pixel, over the padded image, or per channel) and multiply by
// the scale. Every random choice is drawn from rng(seed, epoch stream, sample position), so a batch
// is the same whatever the number of threads and after a resume.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "train/dataset.h"

namespace zf {

enum class Normalize { None, PixelMean, ChannelMean, ChannelStandardize };
Normalize parse_normalize(
    const std::string& s);  // none | pixel_mean | channel_mean | channel_standardize

struct TransformSpec {
  int pad = 0;
  int crop = 0;       // output side; 0 = the whole padded image
  bool flip = false;  // random horizontal flips in training
  Normalize normalize = Normalize::None;
  float scale = 1.f;  // applied after the mean subtraction (and the standardization)
};

// The statistics a normalization needs, computed once from the training set (or stored with it).
struct Normalizer {
  int c = 0, h = 0, w = 0;     // padded image size
  std::vector<float> mean;     // [c*h*w] (per pixel, or per channel broadcast over the plane)
  std::vector<float> inv_std;  // [c]
  float scale = 1.f;
};
Normalizer make_normalizer(const Dataset& train, const TransformSpec& t,
                           int64_t max_samples = 20000);

// A sample's evaluation view (center crop or one of the 10 views) as 8-bit pixels [C, crop, crop],
// before normalization: the image patch that visualizations show beside their projections.
void view_pixels(const Dataset& ds, const TransformSpec& t, int64_t index, int view, uint8_t* out);
// The same view normalized, as the network sees it: [C, crop, crop] floats; `pixels`, when given,
// receives view_pixels' result from the same decode.
void view_sample(const Dataset& ds, const TransformSpec& t, const Normalizer& norm, int64_t index,
                 int view, float* out, uint8_t* pixels = nullptr);

// Crop position views for evaluation: -1 = center; 0..9 = the paper-era 10-crop (4 corners, center,
// and the same five flipped).
constexpr int kCenterView = -1;

struct Batch {
  Tensor x;       // [count * views, C, crop, crop] f32, CPU (Options::views)
  Tensor labels;  // [count] i32, CPU
  int64_t count = 0;
  std::vector<int64_t> index;  // data-set index of each sample
  // With Options::parts > 1 the batch is this part's slice of a larger one: its first sample's
  // index in that batch, and that batch's size (else 0 and count).
  int64_t offset = 0, batch_count = 0;
};

class Loader {
 public:
  struct Options {
    int batch = 64;
    bool train = true;  // random crops/flips and a shuffled order
    uint64_t seed = 0;
    int epoch = 0;           // selects the shuffled order and the random transforms
    int64_t start = 0;       // first position in the epoch's order (resume)
    bool drop_last = true;   // training skips the last partial batch
    int view = kCenterView;  // evaluation crop view
    // Evaluation with several views (10-crop): each sample's views 0..views-1 (`view` is then
    // unused) cut from one decode of the image, as consecutive rows of Batch::x, which holds
    // count * views rows; labels and index stay one per sample.
    int views = 1;
    int threads = 2;
    int prefetch = 4;
    // Labels must lie in [0, classes) (0: the data set's num_classes()); a batch with one outside
    // fails, naming the data set. This is the check the loss ops rely on: they do not look at the
    // labels (on a GPU that would mean a copy to the host every step).
    int classes = 0;
    // Data-parallel training: rank `part` of `parts` gets its slice of every batch (the batches
    // themselves, and each sample's random crop and flip, are the same whatever `parts` is).
    int part = 0, parts = 1;
  };
  Loader(const Dataset& ds, const TransformSpec& t, const Normalizer& norm, const Options& o);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch, or nullptr at the end of the epoch. Valid until the following call.
  const Batch* next();
  int64_t batches() const { return nbatches_; }
  int64_t position() const;  // position in the epoch's order after the batches returned so far

 private:
  struct Slot {
    Batch batch;
    int64_t number = -1;
    bool ready = false;
    std::exception_ptr error;
  };
  void work();
  void fill(Slot& s, int64_t number);

  const Dataset& ds_;
  TransformSpec t_;
  const Normalizer& norm_;
  Options o_;
  std::vector<int64_t> order_;
  int64_t nbatches_ = 0, next_to_fill_ = 0, next_to_return_ = 0;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// The epoch's order of data-set indices: a seeded Fisher-Yates shuffle (identity when !shuffle).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch, bool shuffle);

}  // namespace zf
