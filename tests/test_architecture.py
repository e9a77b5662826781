"""Import rules of ``seldon_doctor``, checked statically (``ast``; nothing is imported).

Every ``import``/``from ... import`` in every ``.py`` file counts: at module level, inside
function bodies (a cycle hidden in a function is still a cycle, and a function-level import of a
client is still a dependency on it) and inside ``if TYPE_CHECKING:`` blocks (counting them is the
stricter choice: an annotation naming a source's type still ties the importer to that source's
API). The rules:

1. ``seldon_doctor.domain`` is pure: it imports nothing from ``seldon_doctor`` outside
   ``domain`` and none of :data:`DOMAIN_FORBIDDEN` (network clients, Kubernetes, processes,
   presentation). envoy-data-plane and betterproto2 are data libraries (message classes, no
   I/O) but cost ~0.6 s to import, so ``domain`` may import them only inside function bodies.
2. No import cycles between modules.
3. Between areas (a subpackage such as ``checks``, or a top-level module such as ``trace``)
   imports go only where :data:`ALLOWED` says; :data:`NEVER` states what the table itself must
   never allow. Within ``checks``, a check module imports only the shared helpers
   (:data:`CHECKS_SHARED`) and the sibling edges listed in :data:`CHECKS_SIBLINGS`.
4. The checker is live: the last tests feed it a temporary package that breaks each rule.

An import of ``package.name`` where ``name`` is not a module counts as an import of
``package`` (its ``__init__``). Importing ``a.b`` also runs ``a/__init__``; that implicit edge is
not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = "seldon_doctor"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: What ``domain`` must never import (a dotted name matches that module and below). ``urllib``
#: is forbidden except ``urllib.parse`` (string quoting, no network).
DOMAIN_FORBIDDEN = (
    "kubernetes",
    "grpc",
    "google.protobuf",
    "urllib.request",
    "urllib.error",
    "urllib.response",
    "urllib.robotparser",
    "urllib3",
    "requests",
    "http.client",
    "http.server",
    "socket",
    "ssl",
    "subprocess",
    "click",
    "rich",
)
#: Allowed in ``domain`` only inside a function body (slow to import; ``--help`` must not pay).
DOMAIN_LAZY_ONLY = ("envoy_data_plane", "betterproto2")

#: area -> the areas it may import. Imports within an area are always allowed (``checks`` has
#: its own rule below). An area missing here fails the test: place new code deliberately.
ALLOWED: dict[str, frozenset[str]] = {
    # Pure knowledge: imports nothing from the project.
    "domain": frozenset(),
    # Plain data and leaf helpers.
    "errors": frozenset(),
    "findings": frozenset(),
    "redact": frozenset({"findings"}),
    "kinds": frozenset(),
    # Bounded reads of input (size, numbers, nesting) and the one YAML loader.
    "safeio": frozenset({"errors"}),
    "safeyaml": frozenset({"errors", "safeio"}),
    # Writes files atomically, never through a symlink (reports and bundles).
    "atomic": frozenset({"errors"}),
    "snapshot": frozenset(),
    "catalog": frozenset({"findings"}) | {"errors", "safeyaml"},
    "plan": frozenset({"catalog", "findings"}),
    # The graph is built from a snapshot. graph <-> logs is mutual at package level (graph.build
    # attaches log matches; logs asks graph.seldon for controller scopes) but not a module cycle.
    "graph": frozenset({"snapshot", "domain", "findings", "logs"}),
    "logs": frozenset({"snapshot", "findings", "graph", "redact"}),
    # Checks read the graph (and the observations' types), never a source or a client.
    "checks": frozenset(
        {"graph", "domain", "findings", "catalog", "snapshot", "kinds", "logs", "redact"}
    ),
    "live_kinds": frozenset({"checks", "kinds"}),
    "engine": frozenset(
        {"catalog", "causes", "checks", "errors", "findings", "graph", "live_kinds", "redact"}
        | {"snapshot"}
    ),
    "causes": frozenset({"findings", "graph"}),
    "scope": frozenset({"engine", "findings", "graph"}),
    "baseline": frozenset({"engine", "errors", "findings"}) | {"safeio"},
    "suppress": frozenset({"catalog", "engine", "errors", "findings", "graph"})
    | {"safeio", "safeyaml"},
    "settle": frozenset({"kinds", "snapshot"}),
    "trace": frozenset({"domain", "graph", "redact", "snapshot"}),
    # Sources read input into a Snapshot; the clients package holds the network clients.
    # sources -> graph: the port-forward to seldon-mesh goes to graph.mesh's choice of Envoy.
    "clients": frozenset({"domain"}),
    "sources": frozenset(
        {"clients", "domain", "errors", "graph", "kinds", "live_kinds", "logs", "snapshot"}
        | {"safeio", "safeyaml"}
    ),
    "bundle": frozenset(
        {"seldon_doctor", "atomic", "domain", "errors", "logs", "redact", "snapshot", "sources"}
        | {"safeio"}
    ),
    # Renderers only format: results, plans, the graph, observations' types.
    "render": frozenset(
        {"seldon_doctor", "baseline", "catalog", "domain", "engine", "findings", "graph", "plan"}
        | {"redact", "snapshot", "suppress", "trace"}
    ),
    # The command line: thin click commands over the application layer.
    "rbac": frozenset({"seldon_doctor", "checks", "engine", "live_kinds"}),
    # probe/: the load generator and its wire formats (runner: only domain and snapshot,
    # see PROBE_CORE) and the probe commands' glue (command; its live target comes from the
    # app layer's one live-request factory).
    "probe": frozenset(
        {"app", "clients", "domain", "engine", "errors", "findings", "graph", "render"}
        | {"safeio", "snapshot", "sources"}
    ),
    # The application layer: each command as a request -> result use case (no click, no
    # printing); it wires sources, the engine and the gates together.
    "app": frozenset(
        {"baseline", "bundle", "clients", "domain", "engine", "errors", "findings", "graph"}
        | {"kinds", "live_kinds", "probe", "scope", "settle", "snapshot", "sources", "suppress"}
        | {"trace", "whatif"}
    ),
    # serve/: the exporter (scan loop, state, HTTP endpoints, prometheus_client families) and
    # the Pushgateway push; it runs scans through the app layer and shows them with renderers.
    "serve": frozenset({"app", "engine", "errors", "render"}),
    # Commands parse flags into an app request and render its result.
    "cli": frozenset(
        {"seldon_doctor", "app", "atomic", "bundle", "catalog", "checks", "engine", "errors"}
        | {"findings", "probe", "rbac", "render", "serve"}
    ),
    # The what-if gate: overlays one snapshot on another and compares two reports.
    "whatif": frozenset({"engine", "findings", "snapshot"}),
    "__main__": frozenset({"cli"}),
    "seldon_doctor": frozenset(),
}

#: What the table must never allow (guards the table against a convenient edit).
CLIENTS = frozenset({"sources", "clients", "probe", "bundle"})
ENTRY_POINTS = frozenset({"cli", "probe", "rbac", "serve", "__main__"})
NEVER: dict[str, frozenset[str]] = {
    "domain": frozenset(ALLOWED) - {"domain"},
    "render": CLIENTS | ENTRY_POINTS,
    "checks": CLIENTS | ENTRY_POINTS | {"render", "engine"},
    "graph": CLIENTS | ENTRY_POINTS | {"render", "checks", "engine"},
    "trace": CLIENTS | ENTRY_POINTS | {"render"},
    "sources": ENTRY_POINTS | {"render", "checks", "engine"},
    "clients": ENTRY_POINTS | {"sources", "render", "checks", "graph", "snapshot"},
    "snapshot": frozenset(ALLOWED) - {"snapshot"},
}

#: The probe package's load generator and wire formats import only these areas (the command
#: glue, ``probe.command``, is the one module of ``probe`` that reaches sources and engine).
PROBE_CORE = frozenset({"domain", "snapshot", "probe"})
PROBE_GLUE = frozenset({f"{PACKAGE}.probe.command"})

#: Modules of ``checks`` any check module may import (a package counts with every module in it:
#: ``checks.helpers`` is one place, ``common`` plus a few themed modules).
CHECKS_SHARED = frozenset({"seldon_doctor.checks.base", "seldon_doctor.checks.helpers"})
#: Other edges between check modules, each one deliberate.
CHECKS_SIBLINGS: frozenset[tuple[str, str]] = frozenset()


# ---------------------------------------------------------------------------------------------
# The checker.


@dataclass(frozen=True, slots=True)
class Import:
    source: str  # the importing module
    target: str  # a module of the package (resolved) or an external dotted name as written
    line: int
    in_function: bool
    internal: bool

    def where(self) -> str:
        scope = "function-level" if self.in_function else "module-level"
        return f"{self.source}:{self.line} ({scope})"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (a package directory)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _nearest_module(name: str, modules: Mapping[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, package: str, modules: Mapping[str, Path]):
        self.module = module
        self.base = module if is_package else module.rpartition(".")[0]
        self.package = package
        self.modules = modules
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, name: str, line: int) -> None:
        internal = name == self.package or name.startswith(self.package + ".")
        target = _nearest_module(name, self.modules) if internal else name
        if target is not None and target != self.module:
            self.found.append(Import(self.module, target, line, self.depth > 0, internal))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.base.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            # ``from pkg import mod`` imports the module pkg.mod; ``from pkg import name``, pkg.
            self._add(f"{base}.{alias.name}", node.lineno)


def scan(root: Path = PACKAGE_ROOT, package: str = PACKAGE) -> list[Import]:
    """Every import statement of the package (module-level, in functions, under TYPE_CHECKING)."""
    modules = module_names(root, package)
    found: list[Import] = []
    for name, path in modules.items():
        collector = _Collector(name, path.name == "__init__.py", package, modules)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(collector.found)
    return found


def area(module: str) -> str:
    """``seldon_doctor.checks.base`` -> ``checks``; ``seldon_doctor.trace`` -> ``trace``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _matches(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def domain_violations(imports: Iterable[Import], package: str = PACKAGE) -> list[str]:
    out = []
    for imp in imports:
        if area(imp.source) != "domain":
            continue
        if imp.internal and area(imp.target) != "domain":
            out.append(f"{imp.where()}: domain imports {imp.target} (outside {package}.domain)")
        elif not imp.internal and _matches(imp.target, DOMAIN_FORBIDDEN):
            out.append(f"{imp.where()}: domain imports {imp.target} (I/O or presentation)")
        elif not imp.internal and _matches(imp.target, DOMAIN_LAZY_ONLY) and not imp.in_function:
            out.append(f"{imp.where()}: domain imports {imp.target} at module level (slow)")
    return sorted(out)


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    graph = nx.DiGraph()
    graph.add_edges_from((i.source, i.target) for i in imports if i.internal)
    found = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycle = [edge[0] for edge in nx.find_cycle(graph.subgraph(component))]
            start = cycle.index(min(cycle))
            found.append(cycle[start:] + cycle[:start])  # one spelling per cycle
    return sorted(found)


def direction_violations(
    imports: Iterable[Import],
    allowed: Mapping[str, frozenset[str]] = ALLOWED,
) -> list[str]:
    out = set()
    for imp in imports:
        if not imp.internal:
            continue
        src, dst = area(imp.source), area(imp.target)
        if src not in allowed:
            out.add(f"{imp.source}: area {src!r} has no row in ALLOWED; place it deliberately")
        elif src == dst == "checks" and imp.source != f"{PACKAGE}.checks":  # not the registry
            shared = _matches(imp.target, CHECKS_SHARED) or imp.target == "seldon_doctor.checks"
            if not shared and (imp.source, imp.target) not in CHECKS_SIBLINGS:
                out.add(f"{imp.where()}: check module imports check module {imp.target}")
        elif src == dst == "checks":
            continue
        elif src != dst and dst not in allowed[src]:
            out.add(f"{imp.where()}: {src} -> {dst} ({imp.target}) is not allowed")
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# The rules, applied to the package.


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    found = scan()
    assert len({i.source for i in found}) > 50, "the scan found too few modules"
    return found


def test_domain_imports_only_domain_and_no_io(imports: list[Import]) -> None:
    assert domain_violations(imports) == []


def test_no_import_cycles(imports: list[Import]) -> None:
    assert cycles(imports) == []


def test_imports_follow_the_package_direction(imports: list[Import]) -> None:
    assert direction_violations(imports) == []


def test_the_probe_runner_imports_only_domain_and_snapshot(imports: list[Import]) -> None:
    found = sorted(
        f"{i.where()}: {i.target}"
        for i in imports
        if i.internal
        and area(i.source) == "probe"
        and i.source not in PROBE_GLUE
        and area(i.target) not in PROBE_CORE
    )
    assert found == []


def test_the_table_never_allows_what_must_never_happen() -> None:
    for src, forbidden in NEVER.items():
        assert not (ALLOWED[src] & forbidden), (
            f"ALLOWED[{src!r}] includes {ALLOWED[src] & forbidden}"
        )


def test_sibling_allowances_are_live(imports: list[Import]) -> None:
    """Each allowed edge between check modules is still real; once it is gone, delete it."""
    edges = {(i.source, i.target) for i in imports}
    assert sorted(CHECKS_SIBLINGS - edges) == []


def test_the_domain_modules_exist(imports: list[Import]) -> None:
    sources = {i.source for i in imports}
    for name in ("envoy_config", "envoy_parse", "envoy_routes", "oip", "xds_state", "xds_diff"):
        assert f"{PACKAGE}.domain.{name}" in sources


# ---------------------------------------------------------------------------------------------
# The checker is live: a temporary package that breaks each rule.


def _write(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "seldon_doctor" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in (root / "seldon_doctor").rglob("*"):
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("", encoding="utf-8")
    (root / "seldon_doctor" / "__init__.py").touch()
    return root / "seldon_doctor"


BAD_PACKAGE = {
    # domain reaching a source, only inside a function body and under TYPE_CHECKING
    "domain/model.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from seldon_doctor.render import terminal\n"
        "def parse():\n"
        "    from seldon_doctor.sources.files import load_paths\n"
        "    import envoy_data_plane\n"
        "    return load_paths\n"
    ),
    "domain/net.py": "import socket\nimport envoy_data_plane.envoy\nfrom urllib import request\n",
    "sources/files.py": "def load_paths():\n    return []\n",
    "render/terminal.py": "from seldon_doctor.sources import files\n",
    # a cycle hidden in function bodies
    "collect.py": "def f():\n    from seldon_doctor.sources import dataplane\n",
    "sources/dataplane.py": "def g():\n    from seldon_doctor import collect\n",
    # a new area nobody placed
    "newthing.py": "from seldon_doctor import collect\n",
}


@pytest.fixture
def bad_imports(tmp_path: Path) -> list[Import]:
    return scan(_write(tmp_path, BAD_PACKAGE), "seldon_doctor")


def test_checker_catches_domain_importing_a_source(bad_imports: list[Import]) -> None:
    found = domain_violations(bad_imports)
    assert any("domain imports seldon_doctor.sources.files" in v for v in found), found
    assert any("function-level" in v and "sources.files" in v for v in found), found
    assert any("seldon_doctor.render.terminal" in v for v in found), found  # TYPE_CHECKING
    assert any("domain imports socket" in v for v in found), found
    assert any("domain imports urllib.request" in v for v in found), found
    assert any("envoy_data_plane.envoy at module level" in v for v in found), found
    # the function-level envoy_data_plane import in domain/model.py is allowed
    assert not any("model" in v and "envoy_data_plane" in v for v in found), found


def test_checker_catches_a_cycle_hidden_in_function_bodies(bad_imports: list[Import]) -> None:
    assert cycles(bad_imports) == [["seldon_doctor.collect", "seldon_doctor.sources.dataplane"]]


def test_checker_catches_a_wrong_direction(bad_imports: list[Import]) -> None:
    found = direction_violations(bad_imports)
    assert any("render -> sources" in v for v in found), found
    assert any("area 'newthing' has no row" in v for v in found), found
