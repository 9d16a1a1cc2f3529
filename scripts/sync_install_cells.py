"""Write the repository URL of ``pyproject.toml`` into every notebook's Colab install cell and badge.

The address lives in one place, ``[project.urls] Repository``; the first code cell of each
notebook (the install cell, active only in Colab) clones it, and the "Open in Colab" badge of
its opening cell links ``colab.research.google.com/github/<owner>/<name>/blob/main/notebooks/<file>``.
After changing the URL, or after editing a notebook, run::

    python scripts/sync_install_cells.py          # rewrite the cells that differ
    python scripts/sync_install_cells.py --check  # exit 1 if any cell differs (what the test checks)

Only the install cell's and the badge's URLs change: the notebook is read and written with
nbformat, and a notebook whose cells already agree is not written at all.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
GITHUB_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
COLAB_URL = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"]+")


def colab_url(repository: str, notebook: Path) -> str:
    """The Colab address that opens ``notebook`` (in the repository's ``notebooks/``) from GitHub."""
    owner_and_name = repository.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/main/notebooks/{notebook.name}"


def repository_url(pyproject: Path = REPO / "pyproject.toml") -> str:
    """``[project.urls] Repository`` of ``pyproject``, without a trailing ``.git`` or slash."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open(pyproject, "rb") as f:
        urls = tomllib.load(f).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise SystemExit(f"{pyproject}: no [project.urls] Repository entry; add the GitHub URL there.")
    return urls["Repository"].removesuffix("/").removesuffix(".git")


def install_cell(notebook: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """The first code cell, which must clone the repository from GitHub."""
    cell = next((c for c in notebook.cells if c.cell_type == "code"), None)
    if cell is None or not GITHUB_URL.search(cell.source):
        raise SystemExit(f"{path}: the first code cell must be the Colab install cell cloning a GitHub URL.")
    return cell


def sync_notebook(path: Path, url: str, *, write: bool = True) -> bool:
    """Put ``url`` in ``path``'s install cell; True if the cell differed (written when ``write``)."""
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    cell = install_cell(notebook, path)
    changes = [(cell, GITHUB_URL.sub(url, cell.source))]
    badges = [c for c in notebook.cells if c.cell_type == "markdown" and COLAB_URL.search(c.source)]
    changes += [(c, COLAB_URL.sub(colab_url(url, path), c.source)) for c in badges]
    changes = [(c, source) for c, source in changes if source != c.source]
    if not changes:
        return False
    if write:
        for c, source in changes:
            c.source = source
        nbformat.write(notebook, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell differs")
    args = parser.parse_args(argv)
    url = repository_url()
    differing = [p for p in args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
                 if sync_notebook(p, url, write=not args.check)]
    for path in differing:
        print(f"{'differs' if args.check else 'updated'}: {path}")
    return 1 if args.check and differing else 0


if __name__ == "__main__":
    sys.exit(main())
