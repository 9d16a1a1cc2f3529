#!/usr/bin/env bash
# README command 2: set up, then run the whole test suite: unit tests, doctests of the
# package, and every notebook executed by nbval. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export DLM_KIT_PROFILE=tiny HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "${DLM_KIT_VENV:-.venv}/bin/python" -m pytest tests dlm_kit notebooks --doctest-modules --nbval-lax --durations=15 "$@"
