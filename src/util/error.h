#pragma once

#include <stdexcept>
#include <string>

namespace mlff {

// Raised by the core for bad input; the LAMMPS adapter turns it into error->all/one.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Two atoms closer than the smallest distance a model is trusted at: overlapping atoms give
// finite energies and huge forces in arbitrary directions, never a meaningful answer. first and
// second are atom IDs where the thrower has them, else atom indices, which an engine adapter
// turns into IDs with message().
class CloseAtoms : public Error {
 public:
  CloseAtoms(long first, long second, double distance, double min_distance);
  static std::string message(long first, long second, double distance, double min_distance);
  long first, second;
  double distance, min_distance;
};

// An atom whose position is not finite (NaN or inf: a run that has blown up). atom is an ID
// where the thrower has them, else an index, which the step turns into an ID.
class NonFinitePosition : public Error {
 public:
  explicit NonFinitePosition(long atom);
  long atom;
};

// The first line of an exception's message.
std::string first_line(const std::exception& e);

// What went wrong in LibTorch, in a line or two: TorchScript wraps the cause in a long trace, of
// which the first line and the line naming the cause are kept; running out of device memory is
// said plainly, with what to do.
std::string torch_cause(const std::exception& e);

}  // namespace mlff
