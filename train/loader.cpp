// Transforms and the threaded loader (see loader.h).
#include "train/loader.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace zf {

namespace {
constexpr uint64_t kOrderStream = 1ull << 40;      // + epoch
constexpr uint64_t kTransformStream = 1ull << 41;  // + epoch
// Where an evaluation view cuts its crop from the padded H x W image.
struct View {
  int oy, ox;
  bool flip;
};
View eval_view(int view, int H, int W, int crop) {
  if (view < 0) return View{(H - crop) / 2, (W - crop) / 2, false};
  const int v = view % 5;
  return View{v == 4 ? (H - crop) / 2 : (v / 2) * (H - crop),
              v == 4 ? (W - crop) / 2 : (v % 2) * (W - crop), view >= 5};
}

// Pixel (c, py, px) of the padded image, from the raw [C, ih, iw] planes (0 in the padding).
inline uint8_t padded_pixel(const uint8_t* raw, int c, int py, int px, int ih, int iw, int pad) {
  const int sy = py - pad, sx = px - pad;
  return (sy >= 0 && sy < ih && sx >= 0 && sx < iw)
             ? raw[(static_cast<size_t>(c) * ih + sy) * iw + sx]
             : 0;
}

// One row of a view: out[x] = (pixel - mean) * inv for the crop's columns ox.. (reversed with
// `flip`) of a padded image row whose pixels are `src` (null: a padding row; the pad columns are
// 0). The columns inside the image run as a plain loop (vectorized), the pad columns apart.
void cut_row(const uint8_t* src, int iw, int pad, const float* mean, int ox, int crop, bool flip,
             float inv, float* out) {
  // The x whose source column sx lies in [0, iw): sx = ox + x - pad, or with a flip
  // ox + crop - 1 - x - pad.
  int lo = 0, hi = 0;
  if (src) {
    lo = flip ? ox + crop - pad - iw : pad - ox;
    hi = lo + iw;
    lo = std::max(lo, 0), hi = std::min(hi, crop);
    if (lo > hi) lo = hi = 0;
  }
  const int first = flip ? ox + crop - 1 : ox;  // the padded column of x = 0
  const int step = flip ? -1 : 1;
  for (int x = 0; x < lo; ++x) out[x] = (0.f - mean[first + step * x]) * inv;
  for (int x = hi; x < crop; ++x) out[x] = (0.f - mean[first + step * x]) * inv;
  if (!flip) {
    const int d = ox - pad;  // src[d + x] lies in the row for x in [lo, hi)
    for (int x = lo; x < hi; ++x) out[x] = (static_cast<float>(src[d + x]) - mean[ox + x]) * inv;
  } else {
    for (int x = lo; x < hi; ++x)
      out[x] = (static_cast<float>(src[first - pad - x]) - mean[first - x]) * inv;
  }
}

}  // namespace

void view_pixels(const Dataset& ds, const TransformSpec& t, int64_t index, int view, uint8_t* out) {
  const int H = ds.height() + 2 * t.pad, W = ds.width() + 2 * t.pad, crop = t.crop ? t.crop : H;
  std::vector<uint8_t> raw(ds.image_bytes());
  ds.image(index, raw.data());
  const View v = eval_view(view, H, W, crop);
  for (int c = 0; c < ds.channels(); ++c)
    for (int y = 0; y < crop; ++y)
      for (int x = 0; x < crop; ++x)
        out[(static_cast<size_t>(c) * crop + y) * crop + x] =
            padded_pixel(raw.data(), c, v.oy + y, v.flip ? v.ox + crop - 1 - x : v.ox + x,
                         ds.height(), ds.width(), t.pad);
}

void view_sample(const Dataset& ds, const TransformSpec& t, const Normalizer& norm, int64_t index,
                 int view, float* out, uint8_t* pixels) {
  const int H = norm.h, W = norm.w, crop = t.crop ? t.crop : H;
  ZF_CHECK(H == ds.height() + 2 * t.pad && W == ds.width() + 2 * t.pad && norm.c == ds.channels(),
           "%s: images of %dx%dx%d (padded) but the normalization is for %dx%dx%d",
           ds.source().c_str(), ds.channels(), ds.height() + 2 * t.pad, ds.width() + 2 * t.pad,
           norm.c, H, W);
  std::vector<uint8_t> own;
  if (!pixels) {
    own.resize(static_cast<size_t>(norm.c) * crop * crop);
    pixels = own.data();
  }
  const uint8_t* pix = pixels;
  view_pixels(ds, t, index, view, pixels);
  const View v = eval_view(view, H, W, crop);
  for (int c = 0; c < norm.c; ++c)
    for (int y = 0; y < crop; ++y)
      for (int x = 0; x < crop; ++x) {
        const int px = v.flip ? v.ox + crop - 1 - x : v.ox + x;
        const size_t o = (static_cast<size_t>(c) * crop + y) * crop + x;
        out[o] = (pix[o] - norm.mean[(static_cast<size_t>(c) * H + v.oy + y) * W + px]) *
                 norm.inv_std[c] * norm.scale;
      }
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t r = (static_cast<uint64_t>(rng_u32(seed, kOrderStream + epoch, 2 * i)) << 32) |
                       rng_u32(seed, kOrderStream + epoch, 2 * i + 1);
    std::swap(order[i], order[static_cast<int64_t>(r % static_cast<uint64_t>(i + 1))]);
  }
  return order;
}

Normalizer make_normalizer(const Dataset& train, const TransformSpec& t, int64_t max_samples) {
  Normalizer nz;
  nz.c = train.channels(), nz.h = train.height() + 2 * t.pad, nz.w = train.width() + 2 * t.pad;
  nz.scale = t.scale;
  const size_t plane = static_cast<size_t>(nz.h) * nz.w;
  nz.mean.assign(nz.c * plane, 0.f);
  nz.inv_std.assign(nz.c, 1.f);
  if (t.normalize == Normalize::None) return nz;

  std::vector<float> stored = train.stored_mean();
  std::vector<double> sum(nz.c * plane, 0.0), sumsq(nz.c, 0.0);
  int64_t n = 0;
  if (!stored.empty() && t.pad == 0 && t.normalize != Normalize::ChannelStandardize) {
    ZF_CHECK(stored.size() == sum.size(), "%s: stored mean has %zu values for images of %zu",
             train.source().c_str(), stored.size(), sum.size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = stored[i];
    n = 1;
  } else {
    // An evenly spread sample of the training set (all of it when small enough).
    const int64_t count = std::min(train.size(), max_samples);
    std::vector<uint8_t> img(train.image_bytes());
    for (int64_t k = 0; k < count; ++k) {
      train.image(k * train.size() / count, img.data());
      for (int c = 0; c < nz.c; ++c)
        for (int y = 0; y < train.height(); ++y)
          for (int x = 0; x < train.width(); ++x) {
            const double v = img[(static_cast<size_t>(c) * train.height() + y) * train.width() + x];
            sum[c * plane + static_cast<size_t>(y + t.pad) * nz.w + x + t.pad] += v;
            sumsq[c] += v * v;
          }
    }
    n = count;
  }
  for (int c = 0; c < nz.c; ++c) {
    double csum = 0;
    for (size_t p = 0; p < plane; ++p) csum += sum[c * plane + p];
    const double cmean = csum / (static_cast<double>(n) * plane);
    for (size_t p = 0; p < plane; ++p)
      nz.mean[c * plane + p] =
          static_cast<float>(t.normalize == Normalize::PixelMean ? sum[c * plane + p] / n : cmean);
    if (t.normalize == Normalize::ChannelStandardize) {
      const double var = sumsq[c] / (static_cast<double>(n) * plane) - cmean * cmean;
      nz.inv_std[c] = static_cast<float>(1.0 / std::sqrt(std::max(var, 1e-12)));
    }
  }
  return nz;
}

Loader::Loader(const Dataset& ds, const TransformSpec& t, const Normalizer& norm, const Options& o)
    : ds_(ds), t_(t), norm_(norm), o_(o) {
  ZF_CHECK(o.batch >= 1, "loader: batch %d", o.batch);
  const int crop = t.crop ? t.crop : norm.h;
  ZF_CHECK(crop <= norm.h && crop <= norm.w, "crop %d larger than the (padded) image %dx%d of %s",
           crop, norm.h, norm.w, ds.source().c_str());
  ZF_CHECK(ds.size() > 0, "%s: empty data set", ds.source().c_str());
  ZF_CHECK(o.parts >= 1 && o.part >= 0 && o.part < o.parts && o.batch >= o.parts,
           "loader: part %d of %d of batches of %d", o.part, o.parts, o.batch);
  ZF_CHECK(o.views == 1 || (o.views == 10 && !o.train), "loader: %d views (1, or 10 to evaluate)",
           o.views);
  order_ = epoch_order(ds.size(), o.seed, o.epoch, o.train);
  const int64_t left = std::max<int64_t>(0, ds.size() - o.start);
  nbatches_ = o.drop_last ? left / o.batch : (left + o.batch - 1) / o.batch;
  slots_.resize(static_cast<size_t>(std::max(2, o.prefetch)));
  for (int i = 0; i < std::max(1, o.threads); ++i) workers_.emplace_back(&Loader::work, this);
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

int64_t Loader::position() const {
  return std::min<int64_t>(ds_.size(), o_.start + next_to_return_ * o_.batch);
}

void Loader::work() {
  for (;;) {
    int64_t number;
    Slot* slot;
    {
      std::unique_lock<std::mutex> lk(mu_);
      // Batch m goes to slot m % K; it may be filled once batch m - K + 1 has been handed out, so
      // the batch the caller holds (the last one returned) is never overwritten.
      cv_.wait(lk, [&] {
        return stop_ || next_to_fill_ >= nbatches_ ||
               next_to_fill_ < next_to_return_ + static_cast<int64_t>(slots_.size()) - 1;
      });
      if (stop_ || next_to_fill_ >= nbatches_) return;
      number = next_to_fill_++;
      slot = &slots_[number % slots_.size()];
      slot->ready = false;
      slot->number = number;
    }
    std::exception_ptr err;
    try {
      fill(*slot, number);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      slot->error = err;
      slot->ready = true;
    }
    cv_.notify_all();
  }
}

const Batch* Loader::next() {
  std::unique_lock<std::mutex> lk(mu_);
  if (next_to_return_ >= nbatches_) return nullptr;
  Slot& s = slots_[next_to_return_ % slots_.size()];
  cv_.wait(lk, [&] { return s.ready && s.number == next_to_return_; });
  if (s.error) std::rethrow_exception(s.error);
  ++next_to_return_;
  lk.unlock();
  cv_.notify_all();
  return &s.batch;
}

void Loader::fill(Slot& s, int64_t number) {
  const int64_t batch_first = o_.start + number * o_.batch;
  const int64_t batch_count = std::min<int64_t>(o_.batch, ds_.size() - batch_first);
  const int64_t lo = batch_count * o_.part / o_.parts, hi = batch_count * (o_.part + 1) / o_.parts;
  const int64_t first = batch_first + lo, count = hi - lo;
  const int C = norm_.c, H = norm_.h, W = norm_.w, crop = t_.crop ? t_.crop : H;
  const int classes = o_.classes > 0 ? o_.classes : ds_.num_classes();
  const size_t plane = static_cast<size_t>(H) * W, out_plane = static_cast<size_t>(crop) * crop;
  Batch& b = s.batch;
  const int views = o_.views;
  b.x.ensure(Shape{count * views, C, crop, crop}, Device::CPU);
  b.labels.ensure(Shape{count}, Device::CPU, DType::I32);
  b.count = count;
  b.offset = lo;
  b.batch_count = batch_count;
  b.index.resize(static_cast<size_t>(count));
  std::vector<uint8_t> raw(ds_.image_bytes());
  for (int64_t k = 0; k < count; ++k) {
    const int64_t pos = first + k, idx = order_[pos];
    b.index[k] = idx;
    const int32_t label = ds_.label(idx);
    ZF_CHECK(
        label >= 0 &&
                label<
                    classes, "%s: label %d of sample %lld outside [0, %d) (the classes of the %s)",
                    ds_.source().c_str(), label, static_cast<long long>(idx), classes, o_.classes> 0
            ? "net"
            : "data set");
    b.labels.i32()[k] = label;
    ds_.image(idx, raw.data());
    for (int view = 0; view < views; ++view) {
      View v = eval_view(views > 1 ? view : o_.view, H, W, crop);
      if (o_.train) {
        const uint64_t stream = kTransformStream + static_cast<uint64_t>(o_.epoch);
        v.oy = static_cast<int>(rng_u32(o_.seed, stream, 3 * pos) %
                                static_cast<uint32_t>(H - crop + 1));
        v.ox = static_cast<int>(rng_u32(o_.seed, stream, 3 * pos + 1) %
                                static_cast<uint32_t>(W - crop + 1));
        v.flip = t_.flip && (rng_u32(o_.seed, stream, 3 * pos + 2) & 1u);
      }
      float* out = b.x.f32() + (k * views + view) * C * out_plane;
      const int ih = ds_.height(), iw = ds_.width();
      for (int c = 0; c < C; ++c) {
        const float inv = norm_.inv_std[c] * norm_.scale;
        for (int y = 0; y < crop; ++y) {
          const int py = y + v.oy, sy = py - t_.pad;
          const uint8_t* src =
              sy >= 0 && sy < ih ? raw.data() + (static_cast<size_t>(c) * ih + sy) * iw : nullptr;
          cut_row(src, iw, t_.pad, norm_.mean.data() + c * plane + static_cast<size_t>(py) * W,
                  v.ox, crop, v.flip, inv, out + c * out_plane + static_cast<size_t>(y) * crop);
        }
      }
    }
  }
}

}  // namespace zf
