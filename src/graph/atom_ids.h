#pragma once

#include <cstdint>

namespace mlff {

// Atom IDs as the engine stores them, 32 or 64 bits wide (LAMMPS's tagint is either), read
// without copying.
class AtomIds {
 public:
  AtomIds() = default;
  AtomIds(const std::int32_t* ids) : narrow_(ids) {}  // NOLINT: converts like the pointer
  AtomIds(const std::int64_t* ids) : wide_(ids) {}    // NOLINT

  std::int64_t operator[](std::int64_t k) const { return narrow_ ? narrow_[k] : wide_[k]; }
  bool wide() const { return wide_ != nullptr; }
  const void* data() const {
    return narrow_ ? static_cast<const void*>(narrow_) : static_cast<const void*>(wide_);
  }

 private:
  const std::int32_t* narrow_ = nullptr;
  const std::int64_t* wide_ = nullptr;
};

}  // namespace mlff
