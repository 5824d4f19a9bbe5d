#!/usr/bin/env bash
# Checks the in-tree build (scripts/install_in_tree.sh): a copy of the set-up's LAMMPS source with
# mlff/student put in, built by LAMMPS's own CMake with the set-up's options (Kokkos as
# MLFF_KOKKOS) and LibTorch, then benzene with mlff/student and mlff/student/kk of that LAMMPS
# against the plugin's. As long as the set-up's LAMMPS build: about 45 CPU-minutes.
#   MLFF_IN_TREE_DIR  where the copy and its build go (default: $MLFF_CACHE/in-tree)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$MLFF_ROOT/scripts/setup.sh" >/dev/null
MLFF_SETUP_FUNCTIONS_ONLY=1 source "$MLFF_ROOT/scripts/setup.sh"
work=${MLFF_IN_TREE_DIR:-$MLFF_CACHE/in-tree}
source_tree=$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree

log "copying the LAMMPS source to $work/lammps and putting mlff/student in"
# Copied with the source's times, over an earlier copy: a second run rebuilds only what changed.
mkdir -p "$work/lammps"
cp -a "$source_tree/." "$work/lammps/"
"$MLFF_ROOT/scripts/install_in_tree.sh" "$work/lammps" >/dev/null
set_lammps_options "$work/lammps"
cmake -S "$work/lammps/cmake" -B "$work/build" "${lammps_options[@]}" \
  -DCMAKE_PREFIX_PATH="$(torch_prefix)" >"$work/configure.log" 2>&1 ||
  { tail -40 "$work/configure.log"; exit 1; }
log "building LAMMPS with mlff/student in it: about $(( (45 + $(nproc) - 1) / $(nproc) )) minutes here"
if ! cmake --build "$work/build" --parallel "$(nproc)" 2>&1 | tee "$work/build.log" | build_progress; then
  tail -40 "$work/build.log"
  exit 1
fi

# Benzene in float64 through the in-tree LAMMPS (no plugin load) and the plugin.
check=$work/check && rm -rf "$check" && mkdir -p "$check"
export PYTHONPATH=$MLFF_ROOT/python${PYTHONPATH:+:$PYTHONPATH}
"$MLFF_PYTHON" -m mlff_student export "$MLFF_ROOT/potentials/student_gfn2.ckpt" -o "$check/model.pt" \
  --dtype float64 >/dev/null
plugin_lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
single_point() { # lmp load-line extra-args...
  local lmp=$1 load=$2
  printf '%s\n' "$load" "units metal" "boundary m m m" "atom_style atomic" "atom_modify map array" \
    "read_data $MLFF_ROOT/examples/benzene/benzene.data" "pair_style mlff/student device cpu" \
    "pair_coeff * * $check/model.pt C H" "run 0" 'print "PE $(pe:%.15g) FY1 $(fy[1]:%.15g) FX2 $(fx[2]:%.15g)"' \
    >"$check/in.lmp"
  (cd "$check" && "$lmp" -in in.lmp -log none "${@:3}" | grep '^PE ')
}
reference=$(single_point "$plugin_lmp" "plugin load $MLFF_BUILD/mlffstudentplugin.so")
plain=$(single_point "$work/build/lmp" "")
kokkos=$(single_point "$work/build/lmp" "" -k on t 1 -sf kk -pk kokkos newton on neigh half)
log "plugin:           $reference"
log "in-tree:          $plain"
log "in-tree, Kokkos:  $kokkos"
"$MLFF_PYTHON" - "$reference" "$plain" "$kokkos" <<'PY'
import sys
ref, *others = ([float(v) for v in line.split()[1::2]] for line in sys.argv[1:])
for values in others:
    for got, want in zip(values, ref):
        assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), (values, ref)
print("[setup] the in-tree build gives the plugin's energy and forces")
PY
