// Tensor: an owning, contiguous, NCHW (or [N, F]) array of float32 or int32 on one device.
// Copies are explicit (clone, to, copy_from): a Tensor cannot be copied by accident, only moved.
// ensure() reshapes in place and reallocates only when the storage is too small, so buffers that
// are rewritten every step (activations, gradients, workspaces) are allocated once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/check.h"

namespace zf {

enum class DeviceKind : uint8_t { CPU, CUDA };
enum class DType : uint8_t { F32, I32 };

// Where a tensor lives and its ops run: the kind, and for CUDA the GPU's index (the CPU's is 0).
// Device::CPU and Device::CUDA (= cuda:0) read as the enum values they replace.
struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static const Device CPU, CUDA;
  static constexpr Device cuda(int index) { return Device{DeviceKind::CUDA, index}; }
  constexpr bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  constexpr bool operator!=(const Device& o) const { return !(*this == o); }
  constexpr bool is_cuda() const { return kind == DeviceKind::CUDA; }
};
inline constexpr Device Device::CPU{DeviceKind::CPU, 0};
inline constexpr Device Device::CUDA{DeviceKind::CUDA, 0};

// "cpu", "cuda" (index 0, the name messages have always used), "cuda:1", ...; a string that lives
// for the process, so that it goes straight into printf-style messages.
const char* device_name(Device d);
Device parse_device(const std::string& s);  // "cpu" | "cuda" | "cuda:N"
size_t dtype_size(DType t);

// Up to 4 dimensions; NCHW for images and feature maps, [N, F] for fully connected layers.
struct Shape {
  static constexpr int kMaxDims = 4;
  int ndim = 0;
  int64_t d[kMaxDims] = {0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int64_t operator[](int i) const { return d[i]; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "[16,3,224,224]"
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape, Device device = Device::CPU, DType dtype = DType::F32);
  ~Tensor();
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(Tensor&& o) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  static Tensor zeros(const Shape& shape, Device device = Device::CPU, DType dtype = DType::F32);

  // Make this tensor [shape] on [device] with [dtype]; contents are unspecified afterwards unless
  // nothing changed. Reallocates only when the current storage is too small or on another device.
  void ensure(const Shape& shape, Device device, DType dtype = DType::F32);
  // A CPU tensor in page-locked memory (when CUDA is built), so that uploads overlap device work.
  void ensure_pinned(const Shape& shape, DType dtype = DType::F32);
  bool pinned() const { return pinned_; }
  // Queues this CPU tensor's upload into `dst` (same shape and dtype, on the GPU) without waiting;
  // the source must be pinned. An event recorded on the upload stream after it (backend::Event), or
  // backend::wait_uploads(), orders the device work that reads it.
  void upload_async_to(Tensor& dst) const;
  // Same storage, new shape with the same number of elements.
  void reshape(const Shape& shape);
  // Makes this tensor a view of `capacity` bytes at `storage` (owned by someone else, e.g. a Net's
  // arena, which must outlive the view's use), shaped [shape]. ensure() keeps using that storage
  // while requests fit in it and takes storage of its own otherwise; clone() and to() give owning
  // tensors.
  void bind(void* storage, size_t capacity, Device device, const Shape& shape,
            DType dtype = DType::F32);
  bool owns_storage() const { return owned_; }

  Tensor clone() const;
  Tensor to(Device device) const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void zero();
  void fill(float v);  // F32 only; CPU, or CUDA through a host staging copy

  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim; }
  int64_t dim(int i) const { return shape_.d[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  bool empty() const { return numel() == 0; }
  bool is_cpu() const { return device_.kind == DeviceKind::CPU; }

  // NCHW accessors for 4-d tensors.
  int64_t n() const { return shape_.d[0]; }
  int64_t c() const { return shape_.d[1]; }
  int64_t h() const { return shape_.d[2]; }
  int64_t w() const { return shape_.d[3]; }

  float* f32();
  const float* f32() const;
  int32_t* i32();
  const int32_t* i32() const;
  void* raw() { return ptr_; }
  const void* raw() const { return ptr_; }

  std::string desc() const;  // "[16,96,110,110] f32 cpu"

 private:
  void release();
  Shape shape_;
  Device device_ = Device::CPU;
  DType dtype_ = DType::F32;
  void* ptr_ = nullptr;
  size_t capacity_ = 0;  // bytes
  bool pinned_ = false;
  bool owned_ = true;  // false for views made by bind()
};

}  // namespace zf
