#!/usr/bin/env bash
# The main job on the embedded default profile. Run through `make demo`.
set -euo pipefail
hubscout doctor
