#pragma once

#include <stdexcept>
#include <string>

namespace mlff {

// Raised by the core for bad input; the LAMMPS adapter turns it into error->all/one.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace mlff
