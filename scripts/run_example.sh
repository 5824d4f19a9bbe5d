#!/usr/bin/env bash
# Sets up what is missing and runs the benzene NVE example (examples/benzene) with the project's
# default model, potentials/student_gfn2.pt (distilled from GFN2-xTB), printing its energies.
# MLFF_MODEL=file.pt picks another model; options go to LAMMPS, e.g. -var steps 20000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$MLFF_ROOT/scripts/setup.sh"

model=$(realpath -e "${MLFF_MODEL:-$MLFF_ROOT/potentials/student_gfn2.pt}")
lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
cd "$MLFF_ROOT/examples/benzene"
# LAMMPS loads every *plugin.so it finds on LAMMPS_PLUGIN_PATH at start-up.
LAMMPS_PLUGIN_PATH=$MLFF_BUILD OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  "$lmp" -in in.benzene -var model "$model" -log "$MLFF_BUILD/benzene.log" "$@"
