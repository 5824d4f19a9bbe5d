#pragma once

#include <string_view>

namespace mlff {

// Atomic number of a chemical symbol ("H" -> 1, "Cl" -> 17); 0 when it names no element.
int atomic_number(std::string_view symbol);

}  // namespace mlff
