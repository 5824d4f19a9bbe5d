#!/usr/bin/env bash
# The benchmark in one command: builds what is missing, prepares the model files for this
# machine's device (TorchScript, and AOTInductor packages compiled here), runs every variant side
# by side (bench/bench.py) and writes bench/results/<device>.json and .png.
# Extra arguments go to bench.py, e.g. --systems benzene,box_1k.
#
# Model: every system runs the condensed-phase model potentials/student_gfn2_liquid (the seed's
# size class, valid for the liquid boxes and the molecules alike). MLFF_BENCH_LIQUID_MODEL and
# MLFF_BENCH_MODEL (molecules) take any other checkpoint or ONNX file, e.g. MLFF-Distiller's
# $MLFF_SEED_DIR/models/student_427k.onnx.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
"$MLFF_ROOT/scripts/setup.sh" >/dev/null

export PYTHONPATH=$MLFF_ROOT/python${PYTHONPATH:+:$PYTHONPATH}
py=$MLFF_PYTHON
device=${MLFF_BENCH_DEVICE:-$("$py" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')}
models=$MLFF_BUILD/bench_models
results=${MLFF_BENCH_RESULTS:-$MLFF_ROOT/bench/results}
mkdir -p "$models" "$results"

liquid_model=$(realpath -e "${MLFF_BENCH_LIQUID_MODEL:-$MLFF_ROOT/potentials/student_gfn2_liquid.ckpt}")
molecule_model=$(realpath -e "${MLFF_BENCH_MODEL:-$liquid_model}")

# Made again when the source or the package code is newer than the file.
outdated() { # target source
  [[ ! -f $1 || $2 -nt $1 || -n $(find "$MLFF_ROOT/python/mlff_student" -name '*.py' -newer "$1") ]]
}
precisions="fp32"
[[ $device == cuda ]] && precisions="fp32 tf32 fp16 bf16"
compile() { # source name suffix extra-args...: compiled side by side, each a separate Inductor run
  local pkg=$models/${2}_${device}_$3.pt2
  if outdated "$pkg" "$1"; then
    "$py" -m mlff_student compile "$1" -o "$pkg" --device "$device" "${@:4}" \
      >"$models/compile_${2}_$3.log" 2>&1 &
  fi
}
prepare() { # source: NAME.pt and NAME_<device>_<precision>[_torch].pt2, NAME the file's stem
  local name
  name=$(basename "${1%.*}")
  if outdated "$models/$name.pt" "$1"; then
    "$py" -m mlff_student export "$1" -o "$models/$name.pt" >/dev/null
  fi
  for p in $precisions; do compile "$1" "$name" "$p" --precision "$p"; done
  # The Python loop (ase-* variants) reads the checkpoint itself.
  ln -sfn "$1" "$models/$name.${1##*.}"
  # pair_style mliap unified, where LAMMPS has ML-IAP (MLFF_MLIAP=1): the same model for the
  # peer interface, with every element the benchmark's systems hold.
  if [[ $mliap == 1 ]] && outdated "$models/${name}_mliap_fp32.pt" "$1"; then
    "$py" -m mlff_student mliap "$1" -o "$models/${name}_mliap_fp32.pt" --dtype float32 \
      --elements H C N O F S Cl >/dev/null
  fi
  # On CUDA, the fused message kernels against the model's own ops, both compiled.
  if [[ $device == cuda ]]; then compile "$1" "$name" fp32_torch --precision fp32 --message torch; fi
}
lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
mliap=0
grep -qw mliap <("$lmp" -h 2>/dev/null) && mliap=1
prepare "$molecule_model"
[[ $liquid_model == "$molecule_model" ]] || prepare "$liquid_model"
wait

# lj: LAMMPS's own step around a pair style that costs nothing; ase-*: the Python loop.
variants="lj,ase-fp32,ts-fp32,aoti-fp32"
[[ $device == cuda ]] &&
  variants="lj,ase-fp32,ase-fp32-compile,ts-fp32,ts-fp32-eager,aoti-fp32,aoti-fp32-eager,aotitorch-fp32,aoti-tf32,aoti-fp16,aoti-bf16,ts-tf32,ts-fp16,ts-bf16"
# The Kokkos style, where the plugin has it: the same model files through -sf kk.
if grep -q "mlff/student/kk" "$MLFF_BUILD/mlffstudentplugin.so"; then
  variants="$variants,kk-lj,kk-ts-fp32,kk-aoti-fp32"
  [[ $device == cuda ]] && variants="$variants,kk-aoti-fp16,kk-aoti-bf16"
fi
[[ $mliap == 1 ]] && variants="$variants,mliap-fp32"
"$py" "$MLFF_ROOT/bench/bench.py" --lmp "$lmp" --plugin "$MLFF_BUILD/mlffstudentplugin.so" \
  --models "$models" --model "$(basename "${molecule_model%.*}")" \
  --liquid-model "$(basename "${liquid_model%.*}")" --device "$device" --variants "$variants" \
  --work "$MLFF_BUILD/bench_work" --out "$results/$device.json" "$@"
"$py" "$MLFF_ROOT/bench/plot.py" "$results/$device.json" "$results/$device.png"
