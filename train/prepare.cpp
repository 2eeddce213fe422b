// zf_prepare (see prepare.h): scan, decode (libjpeg-turbo, DCT-domain scaling), resize, crop,
// encode, write shards; restartable, with unreadable files skipped and listed.
#include "train/prepare.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/check.h"
#include "train/loader.h"
#include "train/progress.h"
#include "train/shards.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

struct Item {
  std::string path;
  int32_t label;
};

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".jpeg" || e == ".jpg" || e == ".png";
}

std::vector<std::string> sorted_files(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_image_file(e.path())) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

// "<file> <wnid>" lines, or LOC_val_solution.csv ("ImageId,PredictionString" with the wnid first).
std::map<std::string, std::string> read_val_labels(const std::string& path) {
  std::ifstream f(path);
  ZF_CHECK(f, "%s: cannot open the validation labels", path.c_str());
  std::map<std::string, std::string> m;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (n == 1 && line.rfind("ImageId", 0) == 0)) continue;
    std::string file, wnid;
    const size_t comma = line.find(',');
    if (comma != std::string::npos) {
      file = line.substr(0, comma);
      std::stringstream ss(line.substr(comma + 1));
      ss >> wnid;
    } else {
      std::stringstream ss(line);
      ss >> file >> wnid;
    }
    ZF_CHECK(!file.empty() && !wnid.empty(),
             "%s:%d: expected '<file> <wnid>' or 'ImageId,wnid ...'", path.c_str(), n);
    m[fs::path(file).stem().string()] = wnid;
  }
  ZF_CHECK(!m.empty(), "%s: no labels", path.c_str());
  return m;
}

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string options_key(const PrepareOptions& o) {
  return strprintf("store=%s size=%d quality=%d shard=%d", o.store.c_str(), o.size, o.quality,
                   o.shard_size);
}

// One image, ready for a shard: size x size RGB, as JPEG bytes or raw CHW, and its pixel sums.
struct Processed {
  bool ok = false;
  std::string error;
  std::vector<uint8_t> bytes;
  Image img;
};

Processed process(const std::string& path, const PrepareOptions& o) {
  Processed p;
  try {
    Image img = resize_center_square(decode_image_file(path, 3, o.size), o.size);
    if (o.store == "jpeg") {
      p.bytes = encode_jpeg(img, o.quality);
    } else {
      const size_t plane = static_cast<size_t>(o.size) * o.size;
      p.bytes.resize(3 * plane);
      for (size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) p.bytes[c * plane + i] = img.pixels[3 * i + c];
    }
    p.img = std::move(img);
    p.ok = true;
  } catch (const std::exception& e) {
    p.error = e.what();
  }
  return p;
}

// Writes split `name` as shards; returns the pixel sum over the images kept, and adds their count.
std::vector<double> write_split(const std::string& name, const std::vector<Item>& items,
                                const PrepareOptions& o, const std::string& key, Progress& prog,
                                int64_t& done, PrepareReport& rep, int64_t* kept) {
  const size_t plane = static_cast<size_t>(o.size) * o.size;
  std::vector<double> total(3 * plane, 0.0);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t first = 0, shard = 0; first < n; first += o.shard_size, ++shard) {
    const int64_t last = std::min<int64_t>(n, first + o.shard_size);
    const std::string path =
        strprintf("%s/%s-%05lld.h5", o.out.c_str(), name.c_str(), static_cast<long long>(shard));
    uint64_t h = fnv1a(key);
    for (int64_t i = first; i < last; ++i)
      h = fnv1a(items[i].path + "#" + std::to_string(items[i].label), h);
    const std::string shard_key =
        key + strprintf(" files=%016llx", static_cast<unsigned long long>(h));
    if (fs::exists(path)) {
      if (shard_is_complete(path, shard_key)) {
        ShardSummary s = read_shard_summary(path);
        for (size_t i = 0; i < total.size(); ++i) total[i] += s.pixel_sum[i];
        *kept += s.count;
        rep.skipped.insert(rep.skipped.end(), s.skipped.begin(), s.skipped.end());
        done += last - first;
        ++rep.shards_kept;
        prog.update(done);
        continue;
      }
      // A readable shard from other inputs is refused rather than overwritten; an unreadable one
      // was torn by an interrupted run and is redone.
      bool readable = true;
      try {
        read_shard_summary(path);
      } catch (const Error&) {
        readable = false;
      }
      ZF_CHECK(!readable,
               "%s: a shard written from other inputs or options; use another --out (or delete "
               "the folder to start over)",
               path.c_str());
    }
    std::vector<Processed> res(static_cast<size_t>(last - first));
    std::atomic<int64_t> next{first};
    auto worker = [&] {
      for (int64_t i; (i = next++) < last;) res[i - first] = process(items[i].path, o);
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < std::max(1, o.threads); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();

    ShardContents sc;
    sc.store = o.store, sc.channels = 3, sc.height = o.size, sc.width = o.size, sc.key = shard_key;
    sc.pixel_sum.assign(3 * plane, 0.0);
    sc.offsets.push_back(0);
    for (int64_t i = first; i < last; ++i) {
      Processed& p = res[i - first];
      if (!p.ok) {
        sc.skipped.push_back(p.error);
        continue;
      }
      sc.labels.push_back(items[i].label);
      sc.bytes.insert(sc.bytes.end(), p.bytes.begin(), p.bytes.end());
      sc.offsets.push_back(static_cast<int64_t>(sc.bytes.size()));
      for (size_t q = 0; q < plane; ++q)
        for (int c = 0; c < 3; ++c) sc.pixel_sum[c * plane + q] += p.img.pixels[3 * q + c];
    }
    write_shard(path, sc);
    rep.skipped.insert(rep.skipped.end(), sc.skipped.begin(), sc.skipped.end());
    *kept += static_cast<int64_t>(sc.labels.size());
    rep.bytes += static_cast<double>(fs::file_size(path));
    for (size_t i = 0; i < total.size(); ++i) total[i] += sc.pixel_sum[i];
    ++rep.shards_written;
    done += last - first;
    prog.update(done);
  }
  return total;
}

// The classes (the training folder's subfolders, sorted: the ILSVRC wnids) and the images of both
// splits with their labels.
struct Listing {
  std::vector<std::string> wnids;
  std::map<std::string, int32_t> index;  // wnid -> label
  std::vector<Item> train, val;
};

void check_options(const PrepareOptions& o) {
  ZF_CHECK(o.store == "jpeg" || o.store == "raw", "--store %s: expected jpeg or raw",
           o.store.c_str());
  ZF_CHECK(o.size >= 8 && o.quality >= 1 && o.quality <= 100 && o.shard_size >= 1,
           "bad --size/--quality/--shard-size");
  ZF_CHECK(fs::is_directory(o.train), "%s: no such directory (--train)", o.train.c_str());
  ZF_CHECK(o.val.empty() || fs::is_directory(o.val), "%s: no such directory (--val)",
           o.val.c_str());
  ZF_CHECK(o.val.empty() || !o.val_labels.empty(), "--val needs --val-labels");
}

std::vector<Item> list_val(const PrepareOptions& o, const std::map<std::string, int32_t>& index) {
  std::map<std::string, std::string> labels = read_val_labels(o.val_labels);
  std::vector<std::string> files = sorted_files(o.val);
  ZF_CHECK(!files.empty(), "%s: no images", o.val.c_str());
  std::vector<Item> val;
  for (const auto& f : files) {
    auto it = labels.find(fs::path(f).stem().string());
    ZF_CHECK(it != labels.end(), "%s does not match the images: no label for %s",
             o.val_labels.c_str(), f.c_str());
    auto c = index.find(it->second);
    ZF_CHECK(c != index.end(), "%s: %s is labelled %s, which is not a training class",
             o.val_labels.c_str(), f.c_str(), it->second.c_str());
    val.push_back(Item{f, c->second});
  }
  ZF_CHECK(labels.size() == files.size(),
           "%s does not match the images: %zu labels for %zu images in %s", o.val_labels.c_str(),
           labels.size(), files.size(), o.val.c_str());
  return val;
}

// Keeps an even spread of `limit` items over the classes rather than the first folders.
void thin(std::vector<Item>& v, int64_t limit) {
  if (limit <= 0 || static_cast<int64_t>(v.size()) <= limit) return;
  std::vector<Item> t;
  for (int64_t i = 0; i < limit; ++i)
    t.push_back(v[static_cast<size_t>(i * static_cast<int64_t>(v.size()) / limit)]);
  v.swap(t);
}

Listing list_images(const PrepareOptions& o) {
  Listing l;
  for (const auto& e : fs::directory_iterator(o.train))
    if (e.is_directory()) l.wnids.push_back(e.path().filename().string());
  std::sort(l.wnids.begin(), l.wnids.end());
  ZF_CHECK(!l.wnids.empty(), "%s: no class folders (expected train/nXXXXXXXX/*.JPEG)",
           o.train.c_str());
  for (size_t i = 0; i < l.wnids.size(); ++i) l.index[l.wnids[i]] = static_cast<int32_t>(i);
  for (size_t c = 0; c < l.wnids.size(); ++c)
    for (auto& f : sorted_files(fs::path(o.train) / l.wnids[c]))
      l.train.push_back(Item{f, static_cast<int32_t>(c)});
  ZF_CHECK(!l.train.empty(), "%s: no .JPEG/.jpg/.png images in the class folders",
           o.train.c_str());
  if (!o.val.empty()) l.val = list_val(o, l.index);
  thin(l.train, o.limit);
  thin(l.val, o.limit);
  return l;
}

// Human-readable class names from --synsets ("<wnid> <name>, <more names>" lines), else the wnids.
std::vector<std::string> class_names(const PrepareOptions& o, const Listing& l) {
  std::vector<std::string> names = l.wnids;
  if (o.synsets.empty()) return names;
  std::ifstream f(o.synsets);
  ZF_CHECK(f, "%s: cannot open the class names (--synsets)", o.synsets.c_str());
  std::string line;
  while (std::getline(f, line)) {
    std::stringstream ss(line);
    std::string w;
    ss >> w;
    auto it = l.index.find(w);
    if (it == l.index.end()) continue;
    std::string rest;
    std::getline(ss, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    names[it->second] = rest.substr(0, rest.find(','));
  }
  return names;
}

// The output folder: one holding another configuration is refused before anything is written;
// torn leftovers of an interrupted run are removed; meta.h5 is written when absent.
PackedMeta open_output(const PrepareOptions& o, const Listing& l, const std::string& key,
                       const std::vector<std::string>& names) {
  fs::create_directories(o.out);
  const std::string meta_path = o.out + "/meta.h5";
  if (fs::exists(meta_path)) {
    PackedMeta old = read_packed_meta(meta_path);
    ZF_CHECK(old.key == key,
             "%s holds shards of another configuration (%s; now %s): use another --out",
             o.out.c_str(), old.key.c_str(), key.c_str());
    ZF_CHECK(old.synsets == l.wnids, "%s holds shards of another class list: use another --out",
             o.out.c_str());
  }
  for (const auto& e : fs::directory_iterator(o.out))
    if (e.path().extension() == ".tmp") fs::remove(e.path());
  PackedMeta meta;
  meta.store = o.store, meta.key = key, meta.size = o.size, meta.quality = o.quality,
  meta.channels = 3;
  meta.synsets = l.wnids, meta.class_names = names;
  if (!fs::exists(meta_path)) write_packed_meta(meta_path, meta);
  return meta;
}

}  // namespace

PrepareReport prepare(const PrepareOptions& o) {
  check_options(o);
  const auto t0 = std::chrono::steady_clock::now();
  const Listing l = list_images(o);
  // Every input is read before --out is created: a bad one leaves no folder behind.
  const std::vector<std::string> names = class_names(o, l);
  const std::string key = options_key(o);
  const bool fresh = !fs::exists(o.out);
  PackedMeta meta = open_output(o, l, key, names);

  PrepareReport rep;
  rep.train_images = static_cast<int64_t>(l.train.size());
  rep.val_images = static_cast<int64_t>(l.val.size());
  Progress prog("zf_prepare", rep.train_images + rep.val_images, 30.0);
  int64_t done = 0, good = 0, val_kept = 0;
  std::vector<double> sum = write_split("train", l.train, o, key, prog, done, rep, &good);
  if (good == 0) {
    // Only empty shards so far: a folder this run created goes again, and the error (before any
    // progress line, and before the validation split's work) names the first reason itself.
    if (fresh) fs::remove_all(o.out);
    ZF_THROW("%s: not one training image could be read (%zu skipped, the first: %s)",
             o.train.c_str(), rep.skipped.size(),
             rep.skipped.empty() ? "?" : rep.skipped[0].c_str());
  }
  if (!l.val.empty()) write_split("val", l.val, o, key, prog, done, rep, &val_kept);
  prog.finish();
  {
    std::ofstream f(o.out + "/skipped.txt");
    for (const auto& s : rep.skipped) f << s << "\n";
  }

  meta.mean.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i)
    meta.mean[i] = static_cast<float>(sum[i] / std::max<int64_t>(1, good));
  write_packed_meta(o.out + "/meta.h5", meta);
  rep.train_images = good;
  rep.val_images = val_kept;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

double measure_decode(const std::string& out_dir, int count, int crop) {
  std::unique_ptr<Dataset> ds = open_hdf5(out_dir + "/train");
  TransformSpec t;
  t.crop = crop, t.flip = true, t.normalize = Normalize::PixelMean;
  Normalizer norm = make_normalizer(*ds, t);
  Loader::Options lo;
  lo.batch = std::min<int64_t>(count, ds->size());
  lo.threads = 1, lo.prefetch = 2, lo.seed = 1;
  int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (n < count) {
    Loader loader(*ds, t, norm, lo);
    while (const Batch* b = loader.next()) n += b->count;
    ++lo.epoch;
  }
  return static_cast<double>(n) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace zf
