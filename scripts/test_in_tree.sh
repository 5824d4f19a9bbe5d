#!/usr/bin/env bash
# Checks the in-tree build (scripts/install_in_tree.sh): a LAMMPS source with mlff/student put in,
# built by LAMMPS's own CMake with LibTorch, then benzene with mlff/student and mlff/student/kk of
# that LAMMPS against the plugin's, to 1e-10.
#   MLFF_IN_TREE_DIR    where a copy of the set-up's LAMMPS source and its build go (default:
#                       $MLFF_CACHE/in-tree); built with the set-up's options (Kokkos as
#                       MLFF_KOKKOS): as long as the set-up's LAMMPS build, about 45 CPU-minutes
#   MLFF_IN_TREE_LAMMPS and MLFF_IN_TREE_BUILD: instead, put the style into this LAMMPS source and
#                       rebuild this existing build of it in place, with its own options (a CUDA
#                       Kokkos build, say): only the adapters and what includes LAMMPS's style
#                       lists are compiled again. The plugin's reference is taken first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$MLFF_ROOT/scripts/setup.sh" >/dev/null
MLFF_SETUP_FUNCTIONS_ONLY=1 source "$MLFF_ROOT/scripts/setup.sh"
# Benzene in float64 through the plugin and then the in-tree LAMMPS (no plugin load), on the GPU
# where Kokkos is CUDA.
device=cpu kokkos_args=(-k on t 1)
if [[ -n ${MLFF_IN_TREE_BUILD:-} ]] && grep -q '^Kokkos_ENABLE_CUDA:BOOL=ON' "$MLFF_IN_TREE_BUILD/CMakeCache.txt" ||
  [[ -z ${MLFF_IN_TREE_BUILD:-} && $MLFF_KOKKOS == cuda ]]; then
  device=cuda kokkos_args=(-k on g 1)
fi
check=${MLFF_IN_TREE_DIR:-$MLFF_CACHE/in-tree}/check && rm -rf "$check" && mkdir -p "$check"
export PYTHONPATH=$MLFF_ROOT/python${PYTHONPATH:+:$PYTHONPATH}
"$MLFF_PYTHON" -m mlff_student export "$MLFF_ROOT/potentials/student_gfn2.ckpt" -o "$check/model.pt" \
  --dtype float64 >/dev/null
plugin_lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
single_point() { # lmp load-line extra-args...
  local lmp=$1 load=$2
  printf '%s\n' "$load" "units metal" "boundary m m m" "atom_style atomic" "atom_modify map array" \
    "read_data $MLFF_ROOT/examples/benzene/benzene.data" "pair_style mlff/student device $device" \
    "pair_coeff * * $check/model.pt C H" "run 0" 'print "PE $(pe:%.15g) FY1 $(fy[1]:%.15g) FX2 $(fx[2]:%.15g)"' \
    >"$check/in.lmp"
  (cd "$check" && "$lmp" -in in.lmp -log none "${@:3}" | grep '^PE ')
}
reference=$(single_point "$plugin_lmp" "plugin load $MLFF_BUILD/mlffstudentplugin.so")

if [[ -n ${MLFF_IN_TREE_BUILD:-} ]]; then
  lammps=${MLFF_IN_TREE_LAMMPS:?MLFF_IN_TREE_LAMMPS: the LAMMPS source MLFF_IN_TREE_BUILD was built from}
  build=$MLFF_IN_TREE_BUILD work=$build
  "$MLFF_ROOT/scripts/install_in_tree.sh" "$lammps" >/dev/null
  lammps_options=()  # the build's cache keeps its own
else
  work=${MLFF_IN_TREE_DIR:-$MLFF_CACHE/in-tree}
  lammps=$work/lammps build=$work/build
  log "copying the LAMMPS source to $lammps and putting mlff/student in"
  # Copied with the source's times, over an earlier copy: a second run rebuilds only what changed.
  mkdir -p "$lammps"
  cp -a "$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree/." "$lammps/"
  "$MLFF_ROOT/scripts/install_in_tree.sh" "$lammps" >/dev/null
  set_lammps_options "$lammps"
fi
cmake -S "$lammps/cmake" -B "$build" "${lammps_options[@]}" -DCMAKE_PREFIX_PATH="$(torch_prefix)" \
  >"$work/in-tree-configure.log" 2>&1 || { tail -40 "$work/in-tree-configure.log"; exit 1; }
log "building LAMMPS with mlff/student in it (from scratch: about $(( (45 + $(nproc) - 1) / $(nproc) )) minutes here)"
if ! cmake --build "$build" --parallel "$(nproc)" 2>&1 | tee "$work/in-tree-build.log" | build_progress; then
  tail -40 "$work/in-tree-build.log"
  exit 1
fi
log "compiled $(grep -c 'Building CXX object' "$work/in-tree-build.log" || true) files"
plain=$(single_point "$build/lmp" "")
kokkos=$(single_point "$build/lmp" "" "${kokkos_args[@]}" -sf kk -pk kokkos newton on neigh half)
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
