"""The layering of hub/, sanitizer/ and taxii_server/, checked from the source with `ast`: no
import circle (function-level imports included), the sanitiser knows nothing of the hub, Flask
or SQLAlchemy, the TAXII protocol layer knows nothing of the hub, the HTTP/CLI entry points neither check roles nor write
audit entries (the services do), nothing outside hub/store imports the store's internals, and
no module is over 450 lines. docs/architecture.md explains the layers."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "sanitizer", "taxii_server")
MAX_LINES = 450
ENTRY_POINTS = ("hub.api", "hub.web", "hub.cli", "hub.cli_review", "taxii_server", "hub.inbox",
                "hub.collection_writes", "hub.app", "hub.feed", "hub.quickstart", "hub.worker")
STORE_PUBLIC = ("hub.store", "hub.store.base")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else ():
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def _imports(mod: str, path: Path) -> list[str]:
    """Every module name imported anywhere in the file (functions included), relative ones resolved."""
    out = []
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod if is_pkg else mod.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                prefix = base + ("." + node.module if node.module else "")
            else:
                prefix = node.module or ""
            out += [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    return out


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH: dict[str, set[str]] = defaultdict(set)
EXTERNAL: dict[str, set[str]] = defaultdict(set)
for _mod, _path in MODULES.items():
    for _target in _imports(_mod, _path):
        _found = _resolve(_target)
        if _found and _found != _mod:
            GRAPH[_mod].add(_found)
        elif not _found:
            EXTERNAL[_mod].add(_target.split(".")[0])


def _cycles() -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in MODULES:
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))
    return out


def test_the_checker_finds_what_it_is_looking_for():
    # It reads every package and sees function-level and relative imports.
    assert {"hub.services.submissions", "hub.store.sql_core", "sanitizer.engine"} <= set(MODULES)
    assert "hub.services.permissions" in GRAPH["hub.services.submissions"]
    assert "hub.store.sql_core" in GRAPH["hub.store.sql_objects"]
    assert "flask" in EXTERNAL["hub.api"]


def test_no_import_circles_including_function_level_imports():
    assert _cycles() == []


def test_sanitizer_imports_nothing_of_the_hub_the_web_or_the_database():
    for mod in (m for m in MODULES if m.split(".")[0] == "sanitizer"):
        assert not {t for t in GRAPH[mod] if t.split(".")[0] != "sanitizer"}, mod
        assert not EXTERNAL[mod] & {"flask", "sqlalchemy", "psycopg", "waitress", "medallion", "hub",
                                    "taxii_server", "werkzeug"}, mod


def test_taxii_server_imports_nothing_of_the_hub():
    """The TAXII protocol layer is a library: what it needs from the hub is in taxii_server.ports."""
    mods = [m for m in MODULES if m.split(".")[0] == "taxii_server"]
    assert {"taxii_server.ports", "taxii_server.backend"} <= set(mods)
    assert "taxii_server.ports" in GRAPH["taxii_server.backend"]
    assert "hub.store.base" in GRAPH["hub.app"] and "taxii_server" in GRAPH["hub.app"]
    for mod in mods:
        assert not {t for t in GRAPH[mod] if t.split(".")[0] != "taxii_server"}, mod
        assert "hub" not in EXTERNAL[mod], mod


def test_no_two_top_level_packages_import_each_other():
    tops = {(m.split(".")[0], t.split(".")[0]) for m, ts in GRAPH.items() for t in ts}
    assert not {(a, b) for a, b in tops if a != b and (b, a) in tops}


def test_entry_points_leave_roles_and_audit_to_the_services():
    """API, web view, CLI and TAXII call services: none compares a role or appends audit itself."""
    for mod, path in MODULES.items():
        if not mod.startswith(ENTRY_POINTS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):  # principal.role == ..., p.org_type in (...)
                for side in (node.left, *node.comparators):
                    if isinstance(side, ast.Attribute) and side.attr in ("role", "org_type"):
                        pytest.fail(f"{mod} line {node.lineno}: a role check belongs in hub.services.permissions")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "append_audit":
                pytest.fail(f"{mod} line {node.lineno}: audit entries are written by hub.services")


def test_nothing_outside_the_store_imports_its_internals():
    for mod, targets in GRAPH.items():
        if mod.startswith("hub.store"):
            continue
        inside = {t for t in targets if t.startswith("hub.store")}
        assert inside <= set(STORE_PUBLIC), (mod, inside - set(STORE_PUBLIC))


@pytest.mark.parametrize("mod", sorted(MODULES), ids=str)
def test_module_size(mod):
    lines = MODULES[mod].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[mod].relative_to(ROOT)}: {lines} lines"
