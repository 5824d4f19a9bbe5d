#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlff {

// Atomic number of a chemical symbol ("H" -> 1, "Cl" -> 17); 0 when it names no element.
int atomic_number(std::string_view symbol);

// The atomic number of each atom type from pair_coeff's symbols (symbols[t - 1] for type t,
// "NULL" for a type the model leaves alone: 0), indexed by type (entry 0 unused). Throws
// mlff::Error for a symbol that is no element, one beyond the model's table (max_z), or symbols
// that are all NULL.
std::vector<int> type_atomic_numbers(const std::vector<std::string>& symbols, int max_z);

}  // namespace mlff
