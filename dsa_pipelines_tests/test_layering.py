"""The house rules of the package's layers (DESIGN.md §1, docs/architecture.md).

- ``storage`` imports neither dagster nor any layer built on it (quality, sampling,
  landing, defs, cli, demo);
- ``quality`` and ``sampling`` use only the store's public names and its documented
  extension module, never its internals, and never dagster;
- there is no import cycle between the package's modules;
- ``settings.py`` is the only reader of the environment.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dsa_pipelines"
STORAGE_PUBLIC = {"dsa_pipelines.storage", "dsa_pipelines.storage.extension"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved).

    With ``top_level_only``, imports inside functions and ``if TYPE_CHECKING:`` blocks
    are left out: those are the ones executed when the module is imported.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    nodes: list[ast.AST] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                nodes.append(node)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                if not top_level_only:
                    visit(node.body)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not top_level_only:
                    nodes.extend(n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []) or []:
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif node.level == 0:
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        else:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _files(sub: str) -> list[Path]:
    files = sorted((PACKAGE / sub).rglob("*.py"))
    assert files, sub
    return files


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def test_storage_imports_no_layer_above_it() -> None:
    above = ("dagster", "dsa_pipelines.quality", "dsa_pipelines.sampling", "dsa_pipelines.landing",
             "dsa_pipelines.defs", "dsa_pipelines.cli", "dsa_pipelines.demo", "dsa_pipelines.definitions")
    offenders = {str(f.relative_to(PACKAGE)): sorted(m for m in _imports(f) if m.startswith(above))
                 for f in _files("storage")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_features_use_only_the_public_store() -> None:
    offenders = {}
    for sub in ("quality", "sampling"):
        for f in _files(sub):
            bad = sorted(m for m in _imports(f) if m.startswith("dagster")
                         or (m.startswith("dsa_pipelines.storage") and not _public(m)))
            if bad:
                offenders[str(f.relative_to(PACKAGE))] = bad
    assert offenders == {}


def _public(module: str) -> bool:
    if module in STORAGE_PUBLIC:
        return True
    parent, _, name = module.rpartition(".")
    if parent == "dsa_pipelines.storage":
        import dsa_pipelines.storage as storage

        return name in storage.__all__
    if parent == "dsa_pipelines.storage.extension":
        import dsa_pipelines.storage.extension as extension

        return name in extension.__all__
    return False


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        own_packages = _ancestors(name) | {name}
        deps = set()
        for imported in _imports(path, top_level_only=True):
            # `from pkg import name` depends on pkg.name if that is a module, else on pkg.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if not imported:
                continue
            # Importing pkg.mod first runs the __init__ of every package above it, except
            # the importer's own packages (those are already being imported).
            deps.update(m for m in _ancestors(imported) | {imported} if m in modules and m not in own_packages)
        graph[name] = deps
    cycles = []
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep] if dep in stack else [node, dep])
            elif dep not in state:
                walk(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert cycles == []


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for f in PACKAGE.rglob("*.py"):
        if f.name == "settings.py" and f.parent == PACKAGE:
            continue
        text = f.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text or "getenv(" in text:
            readers.append(str(f.relative_to(PACKAGE)))
    assert readers == []


def test_importing_the_core_and_features_loads_no_dagster() -> None:
    code = ("import sys, dsa_pipelines.storage, dsa_pipelines.storage.repository, dsa_pipelines.quality, "
            "dsa_pipelines.quality.expectations, dsa_pipelines.sampling; "
            "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_shell_and_features_never_reach_into_the_store() -> None:
    """defs/, quality/, sampling/, the CLI and the demo call public Store methods, never its parts."""
    internals = {"objects", "catalog", "refs", "engine", "manifests"}
    files = [f for sub in ("defs", "quality", "sampling", "landing") for f in _files(sub)]
    files += [PACKAGE / name for name in ("cli.py", "cli_changes.py", "demo.py") if (PACKAGE / name).exists()]
    offenders = {}
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        used = sorted({f"{n.lineno}: .{n.attr}" for n in ast.walk(tree)
                       if isinstance(n, ast.Attribute) and n.attr in internals})
        if used:
            offenders[str(f.relative_to(PACKAGE))] = used
    assert offenders == {}
