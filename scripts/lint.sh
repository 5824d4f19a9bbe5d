#!/usr/bin/env bash
# Lint of the whole repository, changing nothing: ruff's lint and format check over all Python
# (settings in ruff.toml), the import layers of the Python package (scripts/check_layers.py), and
# clang-format over every tracked C++ and CUDA file of src/, pair_style/ and tests/cpp/
# (settings in .clang-format). One line per finding; exit status 1 if there is any.
#
#   scripts/lint.sh
#
# ruff is the venv's (scripts/setup.sh installs it); MLFF_RUFF and MLFF_CLANG_FORMAT name others.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MLFF_ROOT" || exit 1

ruff=${MLFF_RUFF:-$MLFF_VENV/bin/ruff}
clang_format=${MLFF_CLANG_FORMAT:-clang-format}
failed=0
fail() { printf '%s\n' "$*"; failed=1; }

if [[ ! -x $ruff ]]; then
  fail "lint: no ruff at $ruff (scripts/setup.sh installs it into the venv)"
else
  # concise: one "path:line:col: code message" line per finding.
  "$ruff" check --quiet --output-format concise . || failed=1
  # One "path:line:col: unformatted: ..." line per file.
  "$ruff" format --check --quiet --output-format concise . || failed=1
fi

python3 scripts/check_layers.py || failed=1

if ! command -v "$clang_format" >/dev/null; then
  fail "lint: no $clang_format on PATH"
else
  mapfile -t sources < <(git ls-files -- 'src/*.h' 'src/*.cpp' 'src/*.cu' 'pair_style/*.h' \
    'pair_style/*.cpp' 'pair_style/*.cu' 'tests/cpp/*.h' 'tests/cpp/*.cpp' 'tests/cpp/*.cu' 'tests/contract/*.cpp')
  for file in "${sources[@]}"; do
    [[ -f $file ]] || continue  # tracked, but deleted in the work tree
    if ! out=$("$clang_format" --dry-run --Werror "$file" 2>&1); then
      # Each violation is a "file:line:col: error: ..." line followed by the source and a caret.
      lines=$(grep -E '^[^[:space:]].*:[0-9]+:[0-9]+: (error|warning):' <<<"$out")
      if [[ -n $lines ]]; then
        fail "$lines"
      else
        fail "$file: clang-format failed: $(head -n 1 <<<"$out")"
      fi
    fi
  done
fi

exit $failed
