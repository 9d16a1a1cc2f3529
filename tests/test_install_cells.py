"""The repository URL is written once (pyproject.toml); every notebook's install cell uses it."""

import importlib.util
import json
import re

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
GITHUB_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def _repository_url():
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def _install_source(path):
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def _sync_script():
    spec = importlib.util.spec_from_file_location("sync_install_cells", REPO / "scripts" / "sync_install_cells.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pyproject_names_the_github_repository():
    assert GITHUB_URL.fullmatch(_repository_url())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_install_cell_clones_exactly_the_pyproject_url(path):
    source = _install_source(path)
    assert "google.colab" in source  # the first code cell is the Colab install cell
    assert GITHUB_URL.findall(source) == [_repository_url()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_colab_badge_opens_this_notebook_from_the_pyproject_repository(path):
    opening = "".join(json.loads(path.read_text())["cells"][0]["source"])
    owner_and_name = _repository_url().removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{owner_and_name}/blob/main/notebooks/{path.name}"
    assert re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", opening) == [expected]


def test_the_sync_script_rewrites_only_the_install_cell_url(tmp_path):
    sync = _sync_script()
    original = NOTEBOOKS[0]
    copy = tmp_path / original.name
    text, url = original.read_text(), _repository_url()
    at = text.index(url, text.index('"cell_type": "code"'))  # the URL in the first code cell
    copy.write_text(text[:at] + "https://github.com/someone/old-name" + text[at + len(url) :])
    assert sync.sync_notebook(copy, _repository_url()) is True
    # the same bytes as the committed notebook: nothing else in the JSON was touched
    assert copy.read_text() == original.read_text()
    assert sync.sync_notebook(copy, _repository_url()) is False  # already in sync: not written
    badge = text.index("https://colab.research.google.com/github/")
    old = "https://colab.research.google.com/github/someone/old-name/blob/main/notebooks/" + original.name
    end = text.index(")", badge)
    copy.write_text(text[:badge] + old + text[end:])
    assert sync.sync_notebook(copy, _repository_url()) is True
    assert copy.read_text() == original.read_text()  # the badge is put back, byte for byte


def test_the_readme_pip_install_line_uses_the_pyproject_url():
    installs = re.findall(r"git\+(https://github\.com/[A-Za-z0-9_./-]+)", (REPO / "README.md").read_text())
    assert installs and set(installs) == {_repository_url()}
