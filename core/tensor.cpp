// Tensor storage: 64-byte aligned host memory or CUDA device memory (through cuda/runtime.h).
#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "core/backend.h"

namespace zf {

namespace {
constexpr int kMaxNamedCuda = 64;  // more GPUs than any one machine has
}

const char* device_name(Device d) {
  if (d.kind == DeviceKind::CPU) return "cpu";
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v{"cuda"};
    for (int i = 1; i < kMaxNamedCuda; ++i) v.push_back("cuda:" + std::to_string(i));
    return v;
  }();
  return d.index >= 0 && d.index < kMaxNamedCuda ? names[d.index].c_str() : "cuda:?";
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 7 &&
      s.find_first_not_of("0123456789", 5) == std::string::npos) {
    const int index = std::stoi(s.substr(5));
    if (index < kMaxNamedCuda) return Device::cuda(index);
  }
  ZF_THROW("unknown device '%s' (expected cpu, cuda or cuda:N)", s.c_str());
}

size_t dtype_size(DType t) {
  return t == DType::F32 ? sizeof(float) : sizeof(int32_t);
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  ZF_CHECK(dims.size() <= static_cast<size_t>(kMaxDims), "Shape: %zu dimensions (at most %d)",
           dims.size(), kMaxDims);
  for (int64_t v : dims) {
    ZF_CHECK(v >= 0, "Shape: negative size %lld", static_cast<long long>(v));
    d[ndim++] = v;
  }
}

int64_t Shape::numel() const {
  if (ndim == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= d[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim; ++i) {
    if (i) s += ",";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

static void* host_alloc(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  ZF_CHECK(p, "out of host memory allocating %zu bytes", bytes);
  return p;
}

Tensor::Tensor(const Shape& shape, Device device, DType dtype) {
  ensure(shape, device, dtype);
}

Tensor::~Tensor() {
  release();
}

Tensor::Tensor(Tensor&& o) noexcept
    : shape_(o.shape_),
      device_(o.device_),
      dtype_(o.dtype_),
      ptr_(o.ptr_),
      capacity_(o.capacity_),
      pinned_(o.pinned_),
      owned_(o.owned_) {
  o.ptr_ = nullptr;
  o.owned_ = true;
  o.pinned_ = false;
  o.capacity_ = 0;
  o.shape_ = Shape();
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this != &o) {
    release();
    shape_ = o.shape_;
    device_ = o.device_;
    dtype_ = o.dtype_;
    ptr_ = o.ptr_;
    capacity_ = o.capacity_;
    pinned_ = o.pinned_;
    owned_ = o.owned_;
    o.ptr_ = nullptr;
    o.owned_ = true;
    o.pinned_ = false;
    o.capacity_ = 0;
    o.shape_ = Shape();
  }
  return *this;
}

void Tensor::release() {
  if (ptr_ && owned_) {
    if (pinned_)
      backend::pinned_free(ptr_);
    else if (is_cpu())
      std::free(ptr_);
    else
      backend::device_free(device_, ptr_);
  }
  ptr_ = nullptr;
  capacity_ = 0;
  pinned_ = false;
  owned_ = true;
}

void Tensor::bind(void* storage, size_t capacity, Device device, const Shape& shape, DType dtype) {
  ZF_CHECK(static_cast<size_t>(shape.numel()) * dtype_size(dtype) <= capacity,
           "Tensor::bind: %s %s does not fit in %zu bytes", shape.str().c_str(),
           dtype == DType::F32 ? "f32" : "i32", capacity);
  release();
  ptr_ = storage;
  capacity_ = capacity;
  owned_ = false;
  shape_ = shape;
  device_ = device;
  dtype_ = dtype;
}

Tensor Tensor::zeros(const Shape& shape, Device device, DType dtype) {
  Tensor t(shape, device, dtype);
  t.zero();
  return t;
}

void Tensor::ensure(const Shape& shape, Device device, DType dtype) {
  size_t need = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (device != device_ || need > capacity_ || pinned_) {
    release();
    if (need > 0)
      ptr_ =
          device.kind == DeviceKind::CPU ? host_alloc(need) : backend::device_alloc(device, need);
    capacity_ = need;
  }
  shape_ = shape;
  device_ = device;
  dtype_ = dtype;
}

void Tensor::ensure_pinned(const Shape& shape, DType dtype) {
  const size_t need = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (!pinned_ || need > capacity_) {
    release();
    if (need > 0) ptr_ = backend::pinned_alloc(need);
    capacity_ = need;
    pinned_ = true;
  }
  shape_ = shape;
  device_ = Device::CPU;
  dtype_ = dtype;
}

void Tensor::upload_async_to(Tensor& dst) const {
  ZF_CHECK(pinned_ && dst.device_.is_cuda() && dst.shape_ == shape_ && dst.dtype_ == dtype_,
           "upload_async_to: %s (pinned: %d) into %s", desc().c_str(), pinned_ ? 1 : 0,
           dst.desc().c_str());
  if (bytes()) backend::upload_async(dst.device_, dst.ptr_, ptr_, bytes());
}

void Tensor::reshape(const Shape& shape) {
  ZF_CHECK(shape.numel() == numel(), "reshape: %s has %lld elements, %s has %lld",
           shape_.str().c_str(), static_cast<long long>(numel()), shape.str().c_str(),
           static_cast<long long>(shape.numel()));
  shape_ = shape;
}

Tensor Tensor::clone() const {
  Tensor t(shape_, device_, dtype_);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device device) const {
  Tensor t(shape_, device, dtype_);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  ZF_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "copy_from: %s into %s",
           src.desc().c_str(), desc().c_str());
  if (bytes() == 0) return;
  if (is_cpu() && src.is_cpu())
    std::memcpy(ptr_, src.ptr_, bytes());
  else
    backend::device_copy(ptr_, device_, src.ptr_, src.device_, bytes());
}

void Tensor::zero() {
  if (bytes() == 0) return;
  if (is_cpu())
    std::memset(ptr_, 0, bytes());
  else
    backend::device_memset_zero(device_, ptr_, bytes());
}

void Tensor::fill(float v) {
  ZF_CHECK(dtype_ == DType::F32, "fill: %s is not f32", desc().c_str());
  if (is_cpu()) {
    float* p = f32();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
    return;
  }
  Tensor host(shape_, Device::CPU, dtype_);
  host.fill(v);
  copy_from(host);
}

float* Tensor::f32() {
  ZF_CHECK(dtype_ == DType::F32, "tensor %s accessed as f32", desc().c_str());
  return static_cast<float*>(ptr_);
}
const float* Tensor::f32() const {
  ZF_CHECK(dtype_ == DType::F32, "tensor %s accessed as f32", desc().c_str());
  return static_cast<const float*>(ptr_);
}
int32_t* Tensor::i32() {
  ZF_CHECK(dtype_ == DType::I32, "tensor %s accessed as i32", desc().c_str());
  return static_cast<int32_t*>(ptr_);
}
const int32_t* Tensor::i32() const {
  ZF_CHECK(dtype_ == DType::I32, "tensor %s accessed as i32", desc().c_str());
  return static_cast<const int32_t*>(ptr_);
}

std::string Tensor::desc() const {
  return shape_.str() + (dtype_ == DType::F32 ? " f32 " : " i32 ") + device_name(device_);
}

}  // namespace zf
