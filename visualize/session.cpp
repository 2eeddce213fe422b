// Sessions and the images they are shown (see session.h).
#include "visualize/session.h"

#include <algorithm>

#include "core/backend.h"
#include "train/image_io.h"

namespace zf {

Session open_session(const std::string& checkpoint, const std::string& config_path, Device device) {
  Session s;
  s.checkpoint = checkpoint;
  const RunCheckpoint stored = read_run_checkpoint(checkpoint);
  s.cfg = config_path.empty() ? parse_config(stored.config, checkpoint + " (stored config)")
                              : load_config(config_path);
  s.net = std::make_unique<Net>(build_net(s.cfg.net));
  s.meta = load_run_checkpoint(checkpoint, *s.net);
  s.norm = s.meta.state.norm;
  ZF_CHECK(!s.norm.mean.empty(), "%s: the checkpoint stores no input normalization (/data)",
           checkpoint.c_str());
  s.net->to(device);
  return s;
}

std::unique_ptr<Dataset> open_session_data(const Session& s, const std::string& data,
                                           int64_t limit) {
  DataConfig d = s.cfg.data;
  std::string path = data.empty() ? (d.val.empty() ? d.train : d.val) : data;
  d.train = path;
  d.limit_train = limit;
  std::unique_ptr<Dataset> ds = open_dataset(d, true);
  ZF_CHECK(ds->size() > 0, "%s: empty data set", path.c_str());
  const int crop = d.transform.crop ? d.transform.crop : ds->height() + 2 * d.transform.pad;
  const Shape& in = s.net->input_chw();
  ZF_CHECK(ds->channels() == in[0] && crop == in[1] && crop == in[2] &&
               ds->height() + 2 * d.transform.pad == s.norm.h,
           "%s: gives %dx%dx%d samples but the net takes %lldx%lldx%lld", path.c_str(),
           ds->channels(), crop, crop, static_cast<long long>(in[0]), static_cast<long long>(in[1]),
           static_cast<long long>(in[2]));
  return ds;
}

namespace {

// The images given on the command line, decoded once and kept as CHW planes.
class ImageListDataset : public Dataset {
 public:
  ImageListDataset(const std::vector<std::string>& files, int channels, int size)
      : c_(channels), size_(size), files_(files) {
    for (const auto& f : files) {
      Image img = resize_center_square(decode_image_file(f, channels), size);
      std::vector<uint8_t> chw(img.pixels.size());
      const size_t plane = static_cast<size_t>(size) * size;
      for (size_t p = 0; p < plane; ++p)
        for (int c = 0; c < channels; ++c) chw[c * plane + p] = img.pixels[p * channels + c];
      images_.push_back(std::move(chw));
    }
  }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int channels() const override { return c_; }
  int height() const override { return size_; }
  int width() const override { return size_; }
  int num_classes() const override { return 1; }
  int32_t label(int64_t) const override { return 0; }
  void image(int64_t i, uint8_t* chw) const override {
    std::copy(images_[i].begin(), images_[i].end(), chw);
  }
  std::string source() const override { return files_.empty() ? "" : files_[0]; }

 private:
  int c_, size_;
  std::vector<std::string> files_;
  std::vector<std::vector<uint8_t>> images_;
};

}  // namespace

std::unique_ptr<Dataset> open_image_files(const Session& s, const std::vector<std::string>& files) {
  return std::make_unique<ImageListDataset>(files, s.norm.c,
                                            s.norm.h - 2 * s.cfg.data.transform.pad);
}

}  // namespace zf
