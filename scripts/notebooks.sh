#!/usr/bin/env bash
# README command 1 (the main job): set up, then open the notebook series in JupyterLab.
# Extra arguments go to `jupyter lab` (e.g. --no-browser --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh notebooks
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)  # containers and CI run as root
exec "${DLM_KIT_VENV:-.venv}/bin/jupyter" lab notebooks/ "${root_flag[@]}" "$@"
