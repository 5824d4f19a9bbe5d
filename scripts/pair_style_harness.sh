#!/usr/bin/env bash
# LAMMPS's own pair-style test harness (unittest/force-styles: test_pair_style, the bar every
# in-tree pair style passes) on this style: builds the tester offline from the LAMMPS source the
# set-up unpacks and runs it on the YAML files in tests/pair_style_harness/ (plain, newton on and
# off, restart, data file, run, and the Kokkos variant that this LAMMPS has: kokkos_omp, or
# kokkos_gpu on a CUDA build).
#
#   scripts/pair_style_harness.sh                 all YAML files
#   scripts/pair_style_harness.sh liquid          those whose name holds "liquid"
#   scripts/pair_style_harness.sh --regenerate    rewrite the YAML files' reference values from
#                                                 this build (then read the diff)
#   MLFF_HARNESS_SETUP=0 ...                      skip scripts/setup.sh (the build is there)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
regenerate=0 patterns=()
for arg in "$@"; do
  case $arg in
    --regenerate) regenerate=1 ;;
    -*) echo "usage: $0 [--regenerate] [name pattern ...]" >&2; exit 2 ;;
    *) patterns+=("$arg") ;;
  esac
done
log() { printf '[harness] %s\n' "$*"; }
[[ ${MLFF_HARNESS_SETUP:-1} == 0 ]] || "$MLFF_ROOT/scripts/setup.sh"

here=$MLFF_ROOT/tests/pair_style_harness
work=$MLFF_BUILD/pair_style_harness
plugin=$MLFF_BUILD/mlffstudentplugin.so
[[ -f $plugin ]] || { echo "no plugin at $plugin: run scripts/setup.sh first" >&2; exit 1; }

# The tester's sources: unittest/ of the LAMMPS source the plugin was built against.
unittest=${MLFF_LAMMPS_UNITTEST_DIR:-$(dirname "$MLFF_LAMMPS_SOURCE_DIR")/unittest}
if [[ ! -f $unittest/force-styles/test_pair_style.cpp ]]; then
  if [[ -f $MLFF_CACHE/downloads/$LAMMPS_TARBALL && $unittest == */src-tree/unittest ]]; then
    log "unpacking LAMMPS's unittest/ into $unittest"
    tar xzf "$MLFF_CACHE/downloads/$LAMMPS_TARBALL" -C "$(dirname "$unittest")" \
      --wildcards 'unittest/*.h' 'unittest/*.cpp'
  else
    echo "skipped: no LAMMPS unittest/ at $unittest (set MLFF_LAMMPS_UNITTEST_DIR)" >&2
    exit 77
  fi
fi

if [[ ! -f /usr/include/yaml.h && -z ${CMAKE_PREFIX_PATH:-} ]]; then
  echo "skipped: no libyaml (install Debian's libyaml-dev, or give its prefix in CMAKE_PREFIX_PATH)" >&2
  exit 77
fi
lammps_cfg=$MLFF_LAMMPS_DIR
[[ -f $lammps_cfg/LAMMPSConfig.cmake ]] || lammps_cfg=$(dirname "$(find "$MLFF_LAMMPS_DIR" -name LAMMPSConfig.cmake | head -1)")
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLAMMPS_DIR="$lammps_cfg" \
  -DLAMMPS_SOURCE_DIR="$MLFF_LAMMPS_SOURCE_DIR" -DLAMMPS_UNITTEST_DIR="$unittest" >"$work.configure.log" 2>&1 ||
  { cat "$work.configure.log"; exit 1; }
cmake --build "$work/build" --parallel "$(nproc)" >"$work.build.log" 2>&1 || { tail -40 "$work.build.log"; exit 1; }

# The input folder (-d): the inputs and data files with the models beside them.
inputs=$work/inputs
mkdir -p "$inputs"
cp "$here"/in.* "$here"/data.* "$inputs/"
cp "$MLFF_ROOT/potentials/student_gfn2.pt" "$inputs/student_gfn2_float32.pt"
for model in student_gfn2 student_gfn2_liquid; do
  out=$inputs/${model}_float64.pt
  [[ $out -nt $MLFF_ROOT/potentials/$model.ckpt ]] && continue
  PYTHONPATH=$MLFF_ROOT/python${PYTHONPATH:+:$PYTHONPATH} \
    "$MLFF_PYTHON" -m mlff_student export "$MLFF_ROOT/potentials/$model.ckpt" -o "$out" --dtype float64 >/dev/null
done

# LAMMPS loads every *plugin.so in LAMMPS_PLUGIN_PATH when it starts.
export LAMMPS_PLUGIN_PATH=$MLFF_BUILD OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_PROC_BIND=false
status=0
cd "$inputs"
for yaml in "$here"/*.yaml; do
  name=$(basename "$yaml" .yaml)
  if ((${#patterns[@]})); then
    keep=0
    for p in "${patterns[@]}"; do [[ $name == *"$p"* ]] && keep=1; done
    ((keep)) || continue
  fi
  if ((regenerate)); then
    log "$name: regenerating the reference values"
    "$work/build/test_pair_style" "$yaml" -d "$inputs" -u
    continue
  fi
  log "$name"
  if ! "$work/build/test_pair_style" "$yaml" -d "$inputs" --gtest_brief=1; then
    status=1
    log "$name: FAILED"
  fi
done
exit $status
