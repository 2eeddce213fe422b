// Net: YAML -> layers, shape validation, forward/backward over the sequence.
#include "core/net.h"

#include <yaml-cpp/yaml.h>

#include "core/layers/softmax_loss.h"
#include "core/rng.h"

namespace zf {

namespace {

int yaml_int(const YAML::Node& n, const std::string& path, int min_value) {
  int v = 0;
  try {
    v = n.as<int>();
  } catch (const YAML::Exception&) {
    throw Error(path + ": expected an integer");
  }
  ZF_CHECK(v >= min_value, "%s: must be >= %d (got %d)", path.c_str(), min_value, v);
  return v;
}

}  // namespace

Net Net::from_yaml(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": invalid YAML: " + e.what());
  }
  ZF_CHECK(root.IsMap(), "%s: the config must be a YAML map", source.c_str());
  const YAML::Node in = root["input"];
  ZF_CHECK(in && in.IsMap(), "%s: input: missing map {channels, height, width}", source.c_str());
  for (auto it = in.begin(); it != in.end(); ++it) {
    std::string k = it->first.as<std::string>();
    ZF_CHECK(k == "channels" || k == "height" || k == "width", "%s: input.%s: unknown key",
             source.c_str(), k.c_str());
  }
  auto dim = [&](const char* k) {
    ZF_CHECK(in[k], "%s: input.%s: missing", source.c_str(), k);
    return yaml_int(in[k], source + ": input." + k, 1);
  };
  Shape chw{dim("channels"), dim("height"), dim("width")};

  const YAML::Node list = root["layers"];
  ZF_CHECK(list && list.IsSequence() && list.size() > 0, "%s: layers: missing or empty list",
           source.c_str());
  std::vector<std::unique_ptr<Layer>> layers;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = source + ": layers[" + std::to_string(i) + "]";
    const YAML::Node item = list[i];
    ZF_CHECK(item.IsMap(), "%s: expected a map with name and type", path.c_str());
    std::map<std::string, std::string> values;
    for (auto it = item.begin(); it != item.end(); ++it) {
      std::string k = it->first.as<std::string>();
      ZF_CHECK(it->second.IsScalar(), "%s.%s: must be a single value", path.c_str(), k.c_str());
      values[k] = it->second.as<std::string>();
    }
    ZF_CHECK(values.count("type"), "%s.type: missing", path.c_str());
    ZF_CHECK(values.count("name"), "%s.name: missing", path.c_str());
    std::string type = values["type"], name = values["name"];
    values.erase("type");
    values.erase("name");
    ZF_CHECK(!name.empty() && names.insert(name).second, "%s.name: '%s' is empty or used twice",
             path.c_str(), name.c_str());
    layers.push_back(make_layer(LayerSpec(path, name, type, std::move(values))));
  }
  Net net(std::move(layers), chw);
  try {
    net.setup(1);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return net;
}

Net::Net(std::vector<std::unique_ptr<Layer>> layers, Shape input_chw)
    : layers_(std::move(layers)), input_chw_(input_chw) {
  ZF_CHECK(!layers_.empty(), "a net needs at least one layer");
  for (int i = 0; i < size(); ++i) {
    layers_[i]->set_index(i);
    const bool is_loss = dynamic_cast<SoftmaxLossLayer*>(layers_[i].get()) != nullptr;
    ZF_CHECK(!is_loss || i == size() - 1, "layer %s: softmax_loss can only be the last layer",
             layers_[i]->name().c_str());
  }
}

void Net::setup(int batch) {
  ZF_CHECK(batch >= 1, "batch %d must be >= 1", batch);
  Shape s{batch, input_chw_[0], input_chw_[1], input_chw_[2]};
  shapes_.clear();
  for (auto& l : layers_) {
    s = l->setup(s);
    shapes_.push_back(s);
  }
  acts_.resize(layers_.size());
  grads_.resize(layers_.size());
  batch_ = batch;
}

void Net::init_params(uint64_t seed) {
  uint64_t stream = 0;
  for (auto& np : params()) {
    Param& p = *np.param;
    Tensor host(p.value.shape());
    float* v = host.f32();
    for (int64_t i = 0; i < host.numel(); ++i)
      v[i] = p.init_std > 0.f ? p.init_std * rng_normal(seed, 1000 + stream, i) : p.init_value;
    p.value.ensure(host.shape(), device_);
    p.value.copy_from(host);
    p.momentum = Tensor::zeros(host.shape(), device_);
    ++stream;
  }
}

void Net::to(Device d) {
  for (auto& np : params()) {
    Param& p = *np.param;
    if (!p.value.empty()) p.value = p.value.to(d);
    if (!p.momentum.empty()) p.momentum = p.momentum.to(d);
    p.grad = Tensor();
  }
  acts_.clear();
  grads_.clear();
  proj_[0] = Tensor();
  proj_[1] = Tensor();
  acts_.resize(layers_.size());
  grads_.resize(layers_.size());
  device_ = d;
}

float Net::forward(const Tensor& x, const RunState& rs) {
  forward_to(x, size() - 1, rs);
  auto* loss = dynamic_cast<SoftmaxLossLayer*>(layers_.back().get());
  return loss ? loss->loss() : 0.f;
}

void Net::forward_to(const Tensor& x, int last, const RunState& rs) {
  ZF_CHECK(last >= 0 && last < size(), "forward_to: layer %d of %d", last, size());
  ZF_CHECK(x.ndim() == 4 && x.dim(1) == input_chw_[0] && x.dim(2) == input_chw_[1] &&
               x.dim(3) == input_chw_[2],
           "net input %s does not match the config's input [N,%lld,%lld,%lld]", x.shape().str().c_str(),
           static_cast<long long>(input_chw_[0]), static_cast<long long>(input_chw_[1]),
           static_cast<long long>(input_chw_[2]));
  ZF_CHECK(x.device() == device_, "net input on %s, net on %s", device_name(x.device()),
           device_name(device_));
  if (x.dim(0) != batch_) setup(static_cast<int>(x.dim(0)));
  input_ = &x;
  for (int i = 0; i <= last; ++i) layers_[i]->forward(acts_[i], i ? acts_[i - 1] : x, rs);
}

const Tensor& Net::project(const Tensor& r, int from, const ProjectOptions& opt) {
  ZF_CHECK(input_, "project before forward");
  ZF_CHECK(from >= 0 && from < size(), "project: layer %d of %d", from, size());
  ZF_CHECK(r.shape() == acts_[from].shape(), "project: signal %s, but layer %s outputs %s",
           r.shape().str().c_str(), layers_[from]->name().c_str(), acts_[from].shape().str().c_str());
  const Tensor* cur = &r;
  for (int i = from; i >= 0; --i) {
    Tensor& out = proj_[i % 2];
    layers_[i]->project(out, *cur, i ? acts_[i - 1] : *input_, acts_[i], opt);
    cur = &out;
  }
  return *cur;
}

void Net::backward() {
  ZF_CHECK(input_, "backward before forward");
  for (int i = size() - 1; i >= 0; --i) {
    const Tensor& x = i ? acts_[i - 1] : *input_;
    Tensor* dx = i ? &grads_[i - 1] : nullptr;
    layers_[i]->backward(dx, grads_[i], x, acts_[i]);
  }
}

int Net::find(const std::string& name) const {
  for (int i = 0; i < size(); ++i)
    if (layers_[i]->name() == name) return i;
  return -1;
}

std::vector<Net::NamedParam> Net::params() {
  std::vector<NamedParam> out;
  for (auto& l : layers_)
    for (Param* p : l->params()) out.push_back(NamedParam{l->name(), p});
  return out;
}

std::string Net::arch() const {
  std::string s;
  for (int i = 0; i < size(); ++i) {
    const Shape& o = shapes_[i];
    std::string os;
    for (int d = 1; d < o.ndim; ++d) os += (d > 1 ? "x" : "") + std::to_string(o[d]);
    s += layers_[i]->name() + " " + layers_[i]->type() + " -> " + os + "\n";
  }
  return s;
}

}  // namespace zf
