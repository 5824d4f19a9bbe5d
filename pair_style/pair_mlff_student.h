/* pair_style mlff/student: a distilled machine-learned force field run through LibTorch.
   The class only moves data between LAMMPS and the core in ../src. */

#ifndef LMP_PAIR_MLFF_STUDENT_H
#define LMP_PAIR_MLFF_STUDENT_H

#include <memory>
#include <vector>

#include "edge_graph.h"
#include "force_scatter.h"
#include "model_runner.h"
#include "pair.h"
#include "step_profile.h"

namespace LAMMPS_NS {

class PairMLFFStudent : public Pair {
 public:
  PairMLFFStudent(class LAMMPS*);
  ~PairMLFFStudent() override;

  void compute(int, int) override;
  void settings(int, char**) override;
  void coeff(int, char**) override;
  void init_style() override;
  double init_one(int, int) override;
  void finish() override;
  int pack_reverse_comm(int, int, double*) override;
  void unpack_reverse_comm(int, int*, double*) override;

 protected:
  void allocate();
  const int* fold_ghosts_onto_owners();
  // Ghost rows must reach their owners: with newton_pair on LAMMPS sums atom->f (and per-atom
  // virials) itself; with it off this style sums its own node rows on the host, hop by hop.
  bool ghost_rows_on_host() const;
  void sum_ghost_rows_on_host(bool per_atom_virial);
  int rows_to_add() const;  // node rows that go into atom->f: ghosts' too with newton on

  mlff::RunnerOptions options;  // device and precision from pair_style
  std::unique_ptr<mlff::ModelRunner> model;
  double cutoff;
  std::vector<int> type_to_z;  // atomic number per atom type, 0 for NULL
  // One rank folds ghosts onto their owners; several ranks make ghosts graph nodes.
  bool ghost_nodes;
  bool reverse_virial;  // per-atom virial travels with the reverse communication

  mlff::EdgeGraph graph;
  mlff::ForceScatter scatter;
  mlff::ModelOutput output;
  std::vector<int> node_of;                    // atom -> node, when folding
  std::vector<int> local_of_tag;               // tag -> owned atom, when folding
  std::vector<double> node_force;              // [3 * nodes]
  std::vector<double> node_virial;             // [6 * nodes]
  std::unique_ptr<mlff::StepProfile> profile;  // MLFF_STUDENT_PROFILE=1
};

}  // namespace LAMMPS_NS

#endif
