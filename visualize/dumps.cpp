// The HDF5 dump writers (see dumps.h). Attribute and dataset order is part of the files' bytes:
// keep it, so that the same checkpoint and options write identical files.
#include "visualize/dumps.h"

#include "core/io/h5io.h"

namespace zf {

using namespace h5;

namespace {

// The attributes every zf_project dump opens with; `source_key` names the images' origin
// ("dataset" or "image") and `count_key` how many were kept ("k" per feature or "top" features).
void write_info(hid_t f, const DumpInfo& info, const char* source_key, const std::string& source,
                const char* count_key, int count) {
  write_attr_str(f, "layer", info.layer);
  write_attr_str(f, "checkpoint", info.checkpoint);
  write_attr_str(f, source_key, source);
  write_attr_str(f, "rule", info.rule);
  write_attr_i64(f, count_key, count);
  write_attr_i64(f, "through_lrn", info.through_lrn);
  write_attr_i64(f, "field_size", info.field.size);
  write_attr_i64(f, "field_jump", info.field.jump);
  write_attr_i64(f, "field_first", info.field.first);
}

hsize_t hs(int64_t v) {
  return static_cast<hsize_t>(v);
}

}  // namespace

void write_topk_dump(const std::string& path, const DumpInfo& info, const std::string& dataset,
                     int k, const std::vector<int>& ids, const std::vector<std::vector<Hit>>& hits,
                     const std::vector<Projection>& pr, int channels) {
  std::vector<float> values, proj;
  std::vector<int64_t> image;
  std::vector<int32_t> pos;
  std::vector<uint8_t> patch;
  for (size_t i = 0; i < ids.size(); ++i)
    for (int j = 0; j < k; ++j) {
      const Hit& h = hits[i][j];
      values.push_back(h.value);
      image.push_back(h.image);
      pos.push_back(h.y);
      pos.push_back(h.x);
      const Projection& p = pr[i * k + j];
      proj.insert(proj.end(), p.proj.begin(), p.proj.end());
      patch.insert(patch.end(), p.patch.begin(), p.patch.end());
    }
  const hsize_t F = ids.size(), K = hs(k), c = hs(channels), h = hs(info.field.size);
  write_file_atomically(path, [&](hid_t f) {
    write_info(f, info, "dataset", dataset, "k", k);
    write_array(f, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {F}, ids.data());
    write_array(f, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {F, K}, values.data());
    write_array(f, "image_index", H5T_STD_I64LE, H5T_NATIVE_INT64, {F, K}, image.data());
    write_array(f, "position", H5T_STD_I32LE, H5T_NATIVE_INT32, {F, K, 2}, pos.data());
    write_array(f, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {F, K, c, h, h}, proj.data());
    write_array(f, "patches", H5T_STD_U8LE, H5T_NATIVE_UINT8, {F, K, c, h, h}, patch.data());
  });
}

void write_image_dump(const std::string& path, const DumpInfo& info, const std::string& image,
                      int top, const Tensor& act, const std::vector<ProjectRequest>& req,
                      const std::vector<std::vector<float>>& full, const uint8_t* pixels,
                      const Shape& chw) {
  std::vector<int32_t> ids, pos;
  std::vector<float> vals, proj;
  for (size_t r = 0; r < req.size(); ++r) {
    ids.push_back(req[r].feature);
    vals.push_back(req[r].hit.value);
    pos.push_back(req[r].hit.y);
    pos.push_back(req[r].hit.x);
    proj.insert(proj.end(), full[r].begin(), full[r].end());
  }
  const MapSize m = map_size(act.shape());
  const hsize_t R = req.size(), C = hs(chw[0]), H = hs(chw[1]), W = hs(chw[2]);
  write_file_atomically(path, [&](hid_t f) {
    write_info(f, info, "image", image, "top", top);
    write_array(f, "activations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                {hs(act.dim(1)), hs(m.h), hs(m.w)}, act.f32());
    write_array(f, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {R}, ids.data());
    write_array(f, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {R}, vals.data());
    write_array(f, "position", H5T_STD_I32LE, H5T_NATIVE_INT32, {R, 2}, pos.data());
    write_array(f, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {R, C, H, W}, proj.data());
    write_array(f, "image", H5T_STD_U8LE, H5T_NATIVE_UINT8, {C, H, W}, pixels);
  });
}

void write_evolve_dump(const std::string& path, const EvolveDump& d) {
  const size_t F = d.features.size(), E = d.epochs.size();
  std::vector<float> values, pr;
  std::vector<int64_t> image;
  for (size_t f = 0; f < F; ++f)
    for (size_t e = 0; e < E; ++e) {
      values.push_back(d.hits[e][f].value);
      image.push_back(d.hits[e][f].image);
      pr.insert(pr.end(), d.proj[e][f].proj.begin(), d.proj[e][f].proj.end());
    }
  const hsize_t hf = F, he = E, hc = hs(d.channels), hh = hs(d.field);
  write_file_atomically(path, [&](hid_t file) {
    write_attr_str(file, "layer", d.layer);
    write_attr_str(file, "checkpoints", d.checkpoints);
    write_attr_str(file, "dataset", d.dataset);
    write_attr_str(file, "rule", "deconv");
    write_array(file, "epochs", H5T_STD_I32LE, H5T_NATIVE_INT32, {he}, d.epochs.data());
    write_array(file, "feature_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, {hf}, d.features.data());
    write_array(file, "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {hf, he}, values.data());
    write_array(file, "image_index", H5T_STD_I64LE, H5T_NATIVE_INT64, {hf, he}, image.data());
    write_array(file, "projections", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {hf, he, hc, hh, hh},
                pr.data());
  });
}

}  // namespace zf
