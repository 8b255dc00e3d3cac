"""The shape of the code, read from its imports (never run as a test).

    .venv/bin/python bench/layout.py            # the whole tree under rapport/
    .venv/bin/python bench/layout.py --verbose  # also every upward import and the ten largest files

It parses every module under ``rapport/`` with ``ast`` (nothing is imported or run) and
prints three figures:

**Import cycles.** The graph has an edge from a module to each module it imports: a
top-level import (run when the module is loaded) or a function-level one (an import inside
a function or method, run when it is called). ``from a.b import c`` is an edge to ``a.b.c``
when that is a module, otherwise to ``a.b``. A cycle is a strongly connected group of two
or more modules; each group is printed once with one loop through it. Cycles are counted
over top-level edges alone (those break at start-up) and over all edges (a function-level
import that closes a loop is a cycle hidden, not removed).

**Upward imports.** The project is in layers, from the bottom:

0. ``rapport.core``: shared bits that know no app;
1. the plumbing: ``rapport.audit``, ``rapport.users`` and ``rapport.api`` (auth, errors,
   pagination: not the endpoints of the apps, which live in each app);
2. the domain apps: ``rapport.customers``, ``rapport.identity``, ``rapport.timeline``,
   ``rapport.ingest`` and the ones issues bring (anything not named here);
3. the project: ``rapport.settings``, ``rapport.urls``, ``rapport.api_urls``,
   ``rapport.cli``, ``rapport.wsgi``, which assemble the apps.

An upward import is a module importing a module of a higher layer (core importing audit,
users importing customers, the API plumbing importing a domain app's endpoints, an app
reading ``rapport.settings`` instead of ``django.conf.settings``). Within an app split
into sub-packages (``rapport.ingest.mail``, ``.capture``, ``.proposals``, ``.imports``),
a module at the app's top (its shared modules, such as ``models.py``) importing one of the
sub-packages is upward too: the sub-packages build on the app's shared modules, not the
other way round (the app's assemblers are the exceptions, as the project's modules are for
the apps: ``apps.py``, which registers the sub-packages' hooks, ``urls.py``, which joins
their pages, and ``tasks.py``, the shim that keeps queued tasks' old dotted paths). Each
pair (importing module, imported app) counts once; inside a split app, each pair
(importing module, imported sub-package). Tests are left out (``tests`` packages and test
helpers in ``testing`` packages): they build their data through any app's services.

**The largest file**, in lines, of the modules under rapport/ (tests included).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "rapport"

LAYERS = {
    "rapport.core": 0,
    "rapport.audit": 1,
    "rapport.users": 1,
    "rapport.api": 1,
}
PROJECT = {
    "rapport",
    "rapport.settings",
    "rapport.urls",
    "rapport.api_urls",
    "rapport.cli",
    "rapport.wsgi",
}
DOMAIN = 2
# Modules at an app's top that may import its sub-packages (see the docstring).
ASSEMBLERS = {"rapport.ingest.apps", "rapport.ingest.tasks", "rapport.ingest.urls"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect(root: Path) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported module, top-level?) for each import of a module under rapport/."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        target = resolve(alias.name)
                        if target:
                            found.append((target, top))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = name.split(".")
                    if not is_package:
                        anchor = anchor[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if base.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in modules else resolve(base)
                    if target:
                        found.append((target, top))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # typing-only imports are never run
            visit(child, inner)

    visit(tree, True)
    return [(t, top) for t, top in found if t != name]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each as one loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10_000)

    def strong(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return [loop_through(group, graph) for group in sorted(groups)]


def loop_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest loop from the group's first module back to it, for the printout."""
    members = set(group)
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ()) & members):
                if w == start:
                    return (
                        paths[v]
                        + [start]
                        + (
                            [f"(+{len(group) - len(paths[v])} more)"]
                            if len(group) > len(paths[v])
                            else []
                        )
                    )
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return group


def app_of(module: str) -> str:
    parts = module.split(".")
    if module in PROJECT or len(parts) < 2:
        return module
    return ".".join(parts[:2])


def unit_of(module: str) -> str:
    """The app, or the app's sub-package for a split app (a package with sub-packages)."""
    parts = module.split(".")
    app = app_of(module)
    if app in LAYERS or app in PROJECT or len(parts) < 3:
        return app
    candidate = ".".join(parts[:3])
    return (
        candidate
        if (ROOT / Path(*parts[:3]) / "__init__.py").exists()
        and parts[2] not in {"tests", "migrations", "management", "api", "templatetags"}
        else app
    )


def layer(module: str) -> int:
    app = app_of(module)
    if app in PROJECT:
        return 3
    return LAYERS.get(app, DOMAIN)


def upward(src: str, dst: str) -> bool:
    if ".tests" in src or ".testing" in src or src.endswith(".conftest"):
        return False  # tests and their helpers build data through any app's services
    if layer(dst) > layer(src):
        return True
    # Inside a split app: its shared top-level modules must not reach into a sub-package.
    if (
        app_of(src) == app_of(dst)
        and src not in ASSEMBLERS
        and unit_of(src) == app_of(src)
        and unit_of(dst) != app_of(dst)
    ):
        return not src.startswith(f"{app_of(src)}.tests") and not src.startswith(
            f"{app_of(src)}.management"
        )
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    modules = collect(ROOT)
    top_graph: dict[str, set[str]] = defaultdict(set)
    all_graph: dict[str, set[str]] = defaultdict(set)
    edges = {"top": 0, "function": 0}
    ups: dict[tuple[str, str], bool] = {}
    for name, path in modules.items():
        for target, top in imports_of(name, path, modules):
            edges["top" if top else "function"] += 1
            all_graph[name].add(target)
            if top:
                top_graph[name].add(target)
            if upward(name, target):
                key = (name, app_of(target) if layer(target) > layer(name) else unit_of(target))
                ups[key] = ups.get(key, False) or top

    print(
        f"modules under rapport/: {len(modules)}; imports of rapport modules: {edges['top']} top-level, {edges['function']} function-level"
    )

    top_cycles = cycles(top_graph)
    all_cycles = cycles(all_graph)
    print(f"\nimport cycles, top-level imports only: {len(top_cycles)}")
    for loop in top_cycles:
        print("  " + " -> ".join(loop))
    print(f"import cycles, top-level and function-level imports: {len(all_cycles)}")
    for loop in all_cycles:
        print("  " + " -> ".join(loop))

    top_ups = sorted(k for k, top in ups.items() if top)
    fn_ups = sorted(k for k, top in ups.items() if not top)
    print(
        f"\nupward imports: {len(ups)} ({len(top_ups)} top-level, {len(fn_ups)} function-level only)"
    )
    for src, dst in top_ups:
        print(f"  {src} -> {dst}")
    for src, dst in fn_ups:
        print(f"  {src} -> {dst}  (in a function)")

    sizes = sorted(
        ((len(p.read_text(encoding="utf-8").splitlines()), n) for n, p in modules.items()),
        reverse=True,
    )
    lines, name = sizes[0]
    print(f"\nlargest file: {modules[name].relative_to(ROOT)} ({lines} lines)")
    if args.verbose:
        for lines, name in sizes[1:10]:
            print(f"  {modules[name].relative_to(ROOT)} ({lines} lines)")


if __name__ == "__main__":
    main()
