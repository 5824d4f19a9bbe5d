#include "model/elements.h"

#include <array>

#include "util/error.h"

namespace mlff {

namespace {
constexpr std::array<std::string_view, 118> kSymbols = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",
    "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re",
    "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db",
    "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
}  // namespace

int atomic_number(std::string_view symbol) {
  for (std::size_t i = 0; i < kSymbols.size(); ++i)
    if (kSymbols[i] == symbol) return static_cast<int>(i) + 1;
  return 0;
}

std::vector<int> type_atomic_numbers(const std::vector<std::string>& symbols, int max_z) {
  std::vector<int> z(symbols.size() + 1, 0);
  bool any_element = false;
  for (std::size_t t = 1; t <= symbols.size(); ++t) {
    const std::string& symbol = symbols[t - 1];
    if (symbol == "NULL") continue;
    any_element = true;
    z[t] = atomic_number(symbol);
    if (z[t] == 0)
      throw Error("'" + symbol + "' (atom type " + std::to_string(t) +
                  ") is not a chemical element");
    if (z[t] > max_z)
      throw Error("element " + symbol + " (Z = " + std::to_string(z[t]) + ", atom type " +
                  std::to_string(t) +
                  ") is outside the model's table, which ends at Z = " + std::to_string(max_z));
  }
  if (!any_element)
    throw Error(
        "pair_coeff maps every atom type to NULL, so the model would act on no atom: give the "
        "element of each type it should act on (NULL leaves a type to another style of "
        "pair_style hybrid)");
  return z;
}

}  // namespace mlff
