"""The package imports only downward: each module uses its own layer or the layers below it.

The layers follow the data's path (docs/design.md): settings and paths at the bottom, then raw
text, instruction data and tokens, the chat format, the model and its forward pass, the sampler,
scoring and training, the applications, and evaluation and the CLI on top. Every import is read
with ``ast`` from the source, function-local ones included, so an import hidden inside a function
to dodge a cycle still counts. The modules are read, never imported.
"""

import ast
import sys
from collections.abc import Iterator

import pytest

from conftest import REPO

PACKAGE = REPO / "dlm_kit"

LAYERS = [
    ["quiet", "paths", "stats", "profiles"],  # settings: where files live, profiles, plain statistics
    ["corpora", "english_prompts", "teacher_topics", "teacher_prompts", "judges"],  # raw text, prompts, the offline teacher / judge
    ["english", "teacher_data", "data"],  # instruction data, and text → tokens
    ["chat_format"],  # the template, tokenizer preparation, prompts, where an answer ends
    ["deltas", "backbones", "heads", "positions", "masking", "layerwise", "a2d", "a2d_adapter"],  # the model and its forward pass
    ["sampler_steps", "canvas", "denoiser", "sampling_config", "sampling"],  # the block-diffusion sampler: step pieces, canvas, model, loop
    ["likelihood", "train_checks", "training"],  # scoring and training
    ["chat", "widgets", "plots", "baselines"],  # the applications
    ["eval_args", "evaluation", "cli", "__init__"],  # lm-eval, the command line, the package's face
]
LAYER = {module: index for index, layer in enumerate(LAYERS) for module in layer}


def _modules() -> list[str]:
    return sorted(path.stem for path in PACKAGE.glob("*.py"))


def _kit_imports(module: str) -> Iterator[tuple[str, list[str], int]]:
    """(imported kit module, names taken from it, line) for every import of ``module``, at any depth."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            relative = node.level == 1
            absolute = node.level == 0 and (node.module or "").split(".")[0] == "dlm_kit"
            if not (relative or absolute):
                continue
            target = (node.module or "") if relative else (node.module or "").removeprefix("dlm_kit").lstrip(".")
            names = [alias.name for alias in node.names]
            if target:
                yield target.split(".")[0], names, node.lineno
            else:  # `from . import chat`: each name is a module
                for name in names:
                    yield name, [], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dlm_kit" and len(parts) > 1:
                    yield parts[1], [], node.lineno


def _graph() -> dict[str, set[str]]:
    return {module: {target for target, _, _ in _kit_imports(module) if target != module} for module in _modules()}


def test_every_module_sits_in_exactly_one_layer():
    listed = [module for layer in LAYERS for module in layer]
    assert len(listed) == len(set(listed)), "a module is listed in two layers"
    assert set(listed) == set(_modules()), (
        f"not in a layer: {sorted(set(_modules()) - set(listed))}; listed but missing: {sorted(set(listed) - set(_modules()))}"
    )


def test_modules_import_only_from_their_own_layer_or_below():
    upward = [
        f"dlm_kit/{module}.py:{line} imports {target} (layer {LAYER[target]}) from layer {LAYER[module]}"
        for module in _modules()
        for target, _, line in _kit_imports(module)
        if LAYER.get(target, -1) > LAYER[module]
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_package_has_no_import_cycle():
    graph, state, cycles = _graph(), {}, []

    def visit(module: str, stack: list[str]) -> None:
        state[module], stack = "open", stack + [module]
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":  # back on the current path: a cycle
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack)
        state[module] = "done"

    for module in _modules():
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_imports_a_private_name_of_another():
    private = [
        f"dlm_kit/{module}.py:{line} imports {target}.{name}"
        for module in _modules()
        for target, names, line in _kit_imports(module)
        for name in names
        if name.startswith("_") and target != module
    ]
    assert not private, "private names used across modules (make them public or move them):\n" + "\n".join(private)


def test_the_checks_see_function_local_imports(tmp_path, monkeypatch):
    """A function-local upward import (the way a cycle hides) is still found."""
    (tmp_path / "low.py").write_text("def f():\n    from .high import _helper\n")
    (tmp_path / "high.py").write_text("from . import low\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert sorted(_kit_imports("low")) == [("high", ["_helper"], 2)]
    assert _graph() == {"high": {"low"}, "low": {"high"}}
    with pytest.raises(AssertionError, match="low -> high -> low|high -> low -> high"):
        test_the_package_has_no_import_cycle()


MAX_MODULE_LINES = 450


def test_every_module_is_short_enough_to_read_in_one_sitting():
    long = {m: n for m in _modules() if (n := len((PACKAGE / f"{m}.py").read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by concept): {long}"


def _public_functions(module: str) -> Iterator[tuple[str, ast.FunctionDef, bool]]:
    """(qualified name, node, is a method) of every public function and method of a public class."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node, False
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_") or getattr(item, "name", "") == "__init__":
                    yield f"{node.name}.{item.name}", item, True


def test_every_public_function_has_type_hints_and_a_docstring():
    """What a researcher reads with ``help()``: each argument's type, the return type, and what it does
    (methods may inherit their docstring from the library class they override)."""
    problems = []
    for module in _modules():
        for name, node, is_method in _public_functions(module):
            args = [a for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")]
            untyped = [a.arg for a in args if a.annotation is None]
            if untyped:
                problems.append(f"dlm_kit/{module}.py:{node.lineno} {name}: no type for {untyped}")
            if node.returns is None and node.name != "__init__":
                problems.append(f"dlm_kit/{module}.py:{node.lineno} {name}: no return type")
            if not is_method and not ast.get_docstring(node):
                problems.append(f"dlm_kit/{module}.py:{node.lineno} {name}: no docstring")
    assert not problems, "\n".join(problems)
