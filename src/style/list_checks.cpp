#include "style/list_checks.h"

namespace mlff {

namespace {

const std::string kWhy =
    "the model needs every pair within its cutoff (its graph would lose those edges and give "
    "wrong energies with no sign of it)";

}  // namespace

std::string list_refusal(const ListSettings& list) {
  for (int k = 1; k <= 3 && list.molecular; ++k)
    if (list.special_lj[k] == 0.0 && list.special_coul[k] == 0.0)
      return "special_bonds weights of 0 for 1-" + std::to_string(k + 1) +
             " pairs remove them from the neighbor list, but " + kWhy +
             ": use 'special_bonds lj/coul 1.0 1.0 1.0' (with pair_style hybrid/overlay, set the "
             "other styles' weights with pair_modify pair <style> special lj/coul ...)";
  std::string form = list.exclude_types ? "type" : list.exclude_groups ? "group" : "";
  if (form.empty() && list.exclude_molecules > 0)
    form = list.molecule_intra[0] ? "molecule/intra" : "molecule/inter";
  if (!form.empty())
    return "'neigh_modify exclude " + form + "' removes pairs from the neighbor list, but " + kWhy +
           ": remove the exclusion ('neigh_modify exclude none'); to leave pairs out of another "
           "style only, give that style its own pair_coeff settings under pair_style "
           "hybrid/overlay";
  if (!list.include_group.empty())
    return "'neigh_modify include " + list.include_group +
           "' gives neighbor lists only to the atoms of that group, but " + kWhy +
           ": use 'neigh_modify include all'";
  return "";
}

std::string skipped_types_refusal(const int* const* skip, const std::vector<int>& type_to_z) {
  const int ntypes = static_cast<int>(type_to_z.size()) - 1;
  for (int i = 1; skip && i <= ntypes; ++i)
    for (int j = i; j <= ntypes; ++j)
      if (type_to_z[i] > 0 && type_to_z[j] > 0 && skip[i][j])
        return "pair_style hybrid gives pairs of atom types " + std::to_string(i) + " and " +
               std::to_string(j) + " to another style, but " + kWhy +
               ": give every pair of the model's elements to mlff/student (add other styles "
               "with pair_style hybrid/overlay) and map atom types it must not see to NULL";
  return "";
}

}  // namespace mlff
