#include "model/precision.h"

#include "util/error.h"

namespace mlff {

Precision parse_precision(const std::string& name) {
  if (name == "fp64") return Precision::FP64;
  if (name == "fp32") return Precision::FP32;
  if (name == "tf32") return Precision::TF32;
  if (name == "fp16") return Precision::FP16;
  if (name == "bf16") return Precision::BF16;
  throw Error("unknown precision '" + name + "' (expected fp64, fp32, tf32, fp16 or bf16)");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::FP64:
      return "fp64";
    case Precision::FP32:
      return "fp32";
    case Precision::TF32:
      return "tf32";
    case Precision::FP16:
      return "fp16";
    case Precision::BF16:
      return "bf16";
  }
  return "?";
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda") return Device::CUDA;
  throw Error("unknown device '" + name + "' (expected cuda or cpu)");
}

std::string device_name(Device device) {
  return device == Device::CUDA ? "cuda" : "cpu";
}

}  // namespace mlff
