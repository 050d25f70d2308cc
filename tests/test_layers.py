"""The package's layers: every import inside eeg_gnn goes to the same layer or a lower one, and none forms a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "eeg_gnn"
LAYERS = ("utils", "signal", "evaluation", "data", "models", "pipeline", "review", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every eeg_gnn module a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("eeg_gnn"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}: relative import; the package uses absolute imports")
            if node.module and node.module.startswith("eeg_gnn"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_is_in_a_layer():
    loose = [m for m in _graph() if _layer(m) is None and m not in ("eeg_gnn", "eeg_gnn.__main__", "eeg_gnn._api")]
    assert loose == []


def test_no_import_from_a_higher_layer():
    upward = []
    for module, imported in _graph().items():
        own = _layer(module)
        if own is None:
            continue
        upward += [f"{module} -> {target}" for target in imported
                   if _layer(target) is not None and _layer(target) > own]
    assert upward == []


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]) if target in path else target)
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package importing its own submodules (eeg_gnn.data registering its plug-ins) is not a cycle of logic
    cycles = [c for c in cycles if not all(part.startswith(c.split(" -> ")[0]) for part in c.split(" -> "))]
    assert cycles == []


@pytest.mark.parametrize("heavy", ["torch", "mne", "matplotlib", "torch_geometric", "sklearn"])
def test_import_eeg_gnn_is_light(heavy):
    code = f"import sys, eeg_gnn; eeg_gnn.__all__; print({heavy!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
