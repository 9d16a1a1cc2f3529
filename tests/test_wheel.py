"""The wheel works outside the checkout: built, installed in a fresh venv, used from another folder.

A Colab user installs ``dlm-kit @ git+...``: pip builds this wheel, and nothing of the repository
is on disk afterwards. The kit models (``models/``) and the offline lm-eval tasks (``data/tasks/``)
must therefore travel inside the wheel (``pyproject.toml`` maps them to ``dlm_kit/_models`` and
``dlm_kit/_tasks``). The fresh venv gets the wheel without dependencies, then sees this
environment's packages (torch, transformers, lm-eval) through a ``.pth`` line, so the test
needs no downloads; ``.pth`` lines add plain folders, so this checkout's editable install is
not visible there (checked).
"""

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import venv

import pytest

from conftest import REPO

PROMPT = "Reverse the letters: q w e r t y"


def _source_files() -> list[str]:
    """The files a fresh clone has: tracked plus untracked-but-not-ignored (never .venv, runs/)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


def _can_build_wheels_offline() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (70, 1) or ((major, minor) >= (68, 0) and importlib.util.find_spec("wheel") is not None)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, dlm-kit script, environment) of a fresh venv holding only the built wheel."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    root = tmp_path_factory.mktemp("wheel")
    # nothing of this checkout may leak in (PYTHONPATH would let the fresh venv import it)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DLM_KIT_MODELS")}
    env["HF_HUB_OFFLINE"] = "1"
    src = root / "src"
    for name in _source_files():  # build from a copy: pip writes build/ next to pyproject.toml
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    # build offline with this environment's setuptools when it can build wheels (>= 70.1, or >= 68
    # with `wheel`; a fresh Python 3.11 venv has 65 without `wheel`), else pip fetches them
    isolation = ["--no-build-isolation"] if _can_build_wheels_offline() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q",
                    "-w", str(root / "dist"), str(src)], check=True, env=env)
    (wheel,) = (root / "dist").glob("dlm_kit-*.whl")

    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, env=env)
    # only now expose this environment's dependencies (pip would otherwise see the editable dlm-kit)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, env=env).stdout.strip()
    with open(os.path.join(purelib, "_dlm_kit_test_deps.pth"), "w") as f:
        f.write("\n".join(site.getsitepackages()) + "\n")
    return python, env_dir / "bin" / "dlm-kit", env, root


@pytest.mark.slow
def test_installed_wheel_loads_tiny_chat_and_answers_like_the_checkout(installed):
    python, _, env, root = installed
    code = (
        "import json, dlm_kit, dlm_kit.backbones as b\n"
        "from dlm_kit.chat import build_prompt, trim_answer\n"
        "from dlm_kit.sampling import generate\n"
        "model, tok = b.load_backbone('tiny-chat')\n"
        f"out = generate(model.eval(), [build_prompt(tok, {PROMPT!r})], max_new_tokens=16, steps=16, block_size=16,"
        " mask_token_id=tok.mask_token_id)\n"
        "print(json.dumps({'package': dlm_kit.__file__, 'models': str(b.MODELS_DIR),"
        " 'answer': trim_answer(out.new_tokens[0].tolist(), tok)}))\n"
    )
    run = subprocess.run([str(python), "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["package"].startswith(str(root / "venv")), got  # the wheel, not this checkout
    assert got["models"].startswith(str(root / "venv")), got

    from dlm_kit.backbones import load_backbone
    from dlm_kit.chat import build_prompt, trim_answer
    from dlm_kit.sampling import generate

    model, tok = load_backbone("tiny-chat")
    out = generate(model.eval(), [build_prompt(tok, PROMPT)], max_new_tokens=16, steps=16, block_size=16,
                   mask_token_id=tok.mask_token_id)
    assert got["answer"] == trim_answer(out.new_tokens[0].tolist(), tok)


@pytest.mark.slow
def test_installed_wheel_runs_dlm_kit_eval_on_the_offline_tasks(installed):
    _, script, env, root = installed
    output = root / "eval.json"
    run = subprocess.run([str(script), "eval", "--model", "tiny-chat", "--limit", "5", "--model_args", "mc_num=8",
                          "--output", str(output)], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(output.read_text())["results"]
    assert 0 <= results["dlm_kit_synthetic_gen"]["exact_match,strip"] <= 1
    assert 0 <= results["dlm_kit_synthetic_mc"]["acc,none"] <= 1


def test_dlm_kit_models_points_the_kit_names_at_another_folder(monkeypatch, tmp_path):
    from dlm_kit import backbones

    monkeypatch.setenv("DLM_KIT_MODELS", str(tmp_path))
    assert backbones._models_dir() == tmp_path
    monkeypatch.setattr(backbones, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"'tiny-chat' is not in .*point DLM_KIT_MODELS at a folder"):
        backbones.load_backbone("tiny-chat")
