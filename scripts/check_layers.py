"""Checks that mlff_student's sub-packages import only their own layer and those below it.

The layers, lowest first: errors (the input checks every layer uses, importing nothing of the
package); model; data and deploy (each on model); train (on model, data and deploy); integrations
and analysis; cli on top. Every import counts, also one inside a function,
so that a lazy import cannot hide a circle. Reads the sources only (no module is imported): one
line per offending import, and exit status 1 if there is any.

    python scripts/check_layers.py [PACKAGE_DIR]   (default: python/mlff_student)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "mlff_student"
# Sub-package (or top-level module) -> the sub-packages it may import.
ALLOWED = {
    "errors": set(),
    "model": {"errors", "model"},
    "data": {"errors", "model", "data"},
    "deploy": {"errors", "model", "deploy"},
    "train": {"errors", "model", "data", "deploy", "train"},
    "integrations": {"errors", "model", "data", "deploy", "integrations"},
    "analysis": {"errors", "analysis"},
    # The package's own entry points: its public names, the command line, python -m.
    "__init__": {"model", "deploy"},
    "cli": {"errors", "model", "data", "deploy", "train", "integrations", "analysis"},
    "__main__": {"cli"},
}


def module_name(root: Path, path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(root: Path, path: Path, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import of the package's own modules in the file."""
    package = module_name(root, path) if path.name == "__init__.py" else ""
    package = package or module_name(root, path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            # `from .x import y` imports the module x.y when y is one, else a name of x.
            for alias in node.names:
                sub = root.joinpath(*target.split(".")[1:], alias.name)
                is_module = sub.with_suffix(".py").is_file() or (sub / "__init__.py").is_file()
                found.append((node.lineno, f"{target}.{alias.name}" if is_module else target))
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def main(root: Path) -> int:
    graph, failures = {}, []
    for path in sorted(root.rglob("*.py")):
        name = module_name(root, path)
        own = path.stem if path.parent == root else layer(name)
        graph[name] = set()
        for line, target in imported(root, path, ast.parse(path.read_text(), str(path))):
            graph[name].add(target)
            if target == PACKAGE and own != "__init__":
                failures.append(f"{path}:{line}: imports the package root {PACKAGE}")
            elif target != PACKAGE and layer(target) not in ALLOWED.get(own, set()):
                failures.append(
                    f"{path}:{line}: {own} imports {target} (a higher or unrelated "
                    f"layer: {own} may import {sorted(ALLOWED.get(own, ()))})"
                )
    # Circles among modules, also within one layer.
    state = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph.get(name, ())):
            if state.get(target) == "open":
                circle = stack[stack.index(target) :] + [target] if target in stack else [target]
                failures.append(f"import circle: {' -> '.join(circle)}")
            elif target in graph and target not in state:
                visit(target, [*stack, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "python" / PACKAGE
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
