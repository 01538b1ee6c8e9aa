#!/usr/bin/env bash
# The main job on the embedded default profile. Run through `make demo`.
set -euo pipefail
mkdir -p data
export PREFECT_HOME="${PREFECT_HOME:-$PWD/data/prefect}"
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"   # a local, single-user Ray
hubscout doctor
dvc repro        # world -> starter_hub -> labels -> benchmarks (skips what is current)
dvc push         # to the local DVC remote (dvc-remote/)
hubscout hub summary
hubscout select "crimson, navy, olive"
hubscout rank swatches --metric logme,sfda,knn
