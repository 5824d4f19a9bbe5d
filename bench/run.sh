#!/usr/bin/env bash
# The benchmark in one command: builds what is missing, prepares the model files for this
# machine's device (TorchScript, and AOTInductor packages compiled here), runs every variant side
# by side (bench/bench.py) and writes bench/results/<device>.json and .png.
# Extra arguments go to bench.py, e.g. --systems benzene,box_1k.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
"$MLFF_ROOT/scripts/setup.sh" >/dev/null

export PYTHONPATH=$MLFF_ROOT/python${PYTHONPATH:+:$PYTHONPATH}
py=$MLFF_PYTHON
device=${MLFF_BENCH_DEVICE:-$("$py" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')}
seed=${MLFF_SEED_DIR:-$MLFF_ROOT/../shared/seed}
models=$MLFF_BUILD/bench_models
results=${MLFF_BENCH_RESULTS:-$MLFF_ROOT/bench/results}
mkdir -p "$models" "$results"

[[ -f $models/student_427k.pt ]] ||
  "$py" -m mlff_student export "$seed/models/student_427k.onnx" -o "$models/student_427k.pt" >/dev/null
precisions="fp32"
[[ $device == cuda ]] && precisions="fp32 tf32 fp16 bf16"
compile() { # name extra-args...: compiled side by side, each a separate Inductor run
  local pkg=$models/student_427k_${device}_$1.pt2
  # Compiled again when the compile code is newer than the package.
  [[ -f $pkg && -z $(find "$MLFF_ROOT/python/mlff_student" -name '*.py' -newer "$pkg") ]] ||
    "$py" -m mlff_student compile "$seed/models/student_427k.onnx" -o "$pkg" \
      --device "$device" "${@:2}" >"$models/compile_$1.log" 2>&1 &
}
for p in $precisions; do compile "$p" --precision "$p"; done
# On CUDA, the fused message kernels against the model's own ops, both compiled.
[[ $device == cuda ]] && compile fp32_torch --precision fp32 --message torch
wait

lmp=$(sed -n 's/^LAMMPS_EXECUTABLE:FILEPATH=//p' "$MLFF_BUILD/CMakeCache.txt")
variants="ts-fp32,aoti-fp32"
[[ $device == cuda ]] &&
  variants="ts-fp32,ts-fp32-eager,aoti-fp32,aoti-fp32-eager,aotitorch-fp32,aoti-tf32,aoti-fp16,aoti-bf16,ts-tf32,ts-fp16,ts-bf16"
# The Kokkos style, where the plugin has it: the same model files through -sf kk.
if grep -q "mlff/student/kk" "$MLFF_BUILD/mlffstudentplugin.so"; then
  variants="$variants,kk-ts-fp32,kk-aoti-fp32"
  [[ $device == cuda ]] && variants="$variants,kk-aoti-fp16"
fi
"$py" "$MLFF_ROOT/bench/bench.py" --lmp "$lmp" --plugin "$MLFF_BUILD/mlffstudentplugin.so" \
  --models "$models" --device "$device" --variants "$variants" --work "$MLFF_BUILD/bench_work" \
  --out "$results/$device.json" "$@"
"$py" "$MLFF_ROOT/bench/plot.py" "$results/$device.json" "$results/$device.png"
