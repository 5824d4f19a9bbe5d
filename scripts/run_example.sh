#!/usr/bin/env bash
# Sets up what is missing, converts the seed's 427K student model for the plugin and runs the
# benzene NVE example (examples/benzene), printing its energies.
# Options go to LAMMPS, e.g. scripts/run_example.sh -var steps 20000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$MLFF_ROOT/scripts/setup.sh"

seed=${MLFF_SEED_DIR:-$MLFF_ROOT/../shared/seed}
model=$MLFF_BUILD/potentials/student_427k.pt
# Re-exported when the weights or the exporter changed since.
if [[ ! -f $model || $seed/models/student_427k.onnx -nt $model ||
  -n $(find "$MLFF_ROOT/python/mlff_student" -name '*.py' -newer "$model") ]]; then
  mkdir -p "$(dirname "$model")"
  PYTHONPATH=$MLFF_ROOT/python "$MLFF_PYTHON" -m mlff_student export \
    "$seed/models/student_427k.onnx" -o "$model"
fi

lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
cd "$MLFF_ROOT/examples/benzene"
# LAMMPS loads every *plugin.so it finds on LAMMPS_PLUGIN_PATH at start-up.
LAMMPS_PLUGIN_PATH=$MLFF_BUILD OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  "$lmp" -in in.benzene -var model "$model" -log "$MLFF_BUILD/benzene.log" "$@"
