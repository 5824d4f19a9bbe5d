#pragma once

#include <string>
#include <vector>

namespace mlff {

// What LAMMPS leaves out of the style's neighbor list, in LAMMPS's own terms. The model's graph
// is every pair of non-NULL atoms within the cutoff: a list that lacks some of them gives wrong
// energies with no sign of it, so such settings are refused.
struct ListSettings {
  bool molecular = false;                // an atom style with bonds, where special_bonds applies
  const double* special_lj = nullptr;    // [4]: weights of 1-2, 1-3, 1-4 pairs from index 1
  const double* special_coul = nullptr;  // [4]
  int exclude_types = 0;                 // neigh_modify exclude type: entries
  int exclude_groups = 0;                // neigh_modify exclude group: entries
  int exclude_molecules = 0;             // neigh_modify exclude molecule/...: entries
  const int* molecule_intra = nullptr;   // [exclude_molecules]: 1 for molecule/intra
  std::string include_group;             // neigh_modify include <group>, empty for all
};

// Empty where the list holds every pair; otherwise what leaves pairs out and what to do.
std::string list_refusal(const ListSettings& list);

// Under pair_style hybrid the style's list lacks the type pairs (i, j) of other styles, where
// skip[i][j] is set (LAMMPS's ijskip; nullptr for a list without skips). Empty where every pair
// of non-NULL types (type_to_z[t] > 0) is the style's; otherwise the first that is not and what
// to do.
std::string skipped_types_refusal(const int* const* skip, const std::vector<int>& type_to_z);

}  // namespace mlff
