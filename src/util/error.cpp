#include "util/error.h"

#include <cstdio>

namespace mlff {

CloseAtoms::CloseAtoms(long first, long second, double distance, double min_distance)
    : Error(message(first, second, distance, min_distance)),
      first(first),
      second(second),
      distance(distance),
      min_distance(min_distance) {}

std::string CloseAtoms::message(long first, long second, double distance, double min_distance) {
  char text[512];
  std::snprintf(text, sizeof(text),
                "atoms %ld and %ld are %.4g A apart, closer than min_distance %.4g A: the "
                "structure has overlapping atoms (check the data file or the time step); "
                "pair_style ... min_distance 0 turns this check off",
                first, second, distance, min_distance);
  return text;
}

NonFinitePosition::NonFinitePosition(long atom)
    : Error("non-finite position (NaN or inf) of atom " + std::to_string(atom) +
            ": the run has blown up before this step (check the time step and the forces of "
            "other styles and fixes)"),
      atom(atom) {}

std::string first_line(const std::exception& e) {
  const std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

std::string torch_cause(const std::exception& e) {
  const std::string what = e.what();
  if (what.find("out of memory") != std::string::npos)
    return "the device ran out of memory: give each GPU fewer atoms (more MPI ranks or GPUs), "
           "or use an AOTInductor package, which needs less memory";
  std::string last;
  std::size_t start = 0;
  while (start < what.size()) {
    std::size_t end = what.find('\n', start);
    if (end == std::string::npos) end = what.size();
    if (end > start && what.find_first_not_of(" \t", start) < end)
      last = what.substr(start, end - start);
    start = end + 1;
  }
  const std::string first = first_line(e);
  return last.empty() || last == first ? first : first + " ... " + last;
}

}  // namespace mlff
