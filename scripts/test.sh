#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh), then runs every test through ctest.
# Extra arguments go to ctest, e.g. scripts/test.sh -R lammps_ranks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$MLFF_ROOT/scripts/setup.sh"
cd "$MLFF_BUILD"
ctest --output-on-failure --timeout 1200 -j "${MLFF_TEST_JOBS:-2}" "$@"
