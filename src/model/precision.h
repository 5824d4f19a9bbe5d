#pragma once

#include <string>

namespace mlff {

// Arithmetic a model runs in. Geometry, energies and forces stay at least fp32 in every mode.
enum class Precision {
  FP64,  // reference runs (CPU)
  FP32,  // full float32, TF32 matrix units off
  TF32,  // float32 storage, TF32 matrix products on CUDA
  FP16,  // interaction blocks under float16 autocast (CUDA)
  BF16,  // interaction blocks under bfloat16 autocast (CUDA)
};

// "fp32" -> Precision::FP32 and back; throws mlff::Error for an unknown name.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

enum class Device { CPU, CUDA };

Device parse_device(const std::string& name);
std::string device_name(Device device);

}  // namespace mlff
