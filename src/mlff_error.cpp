#include "mlff_error.h"

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

}  // namespace mlff
