"""The layout holds: imports point one way (no cycle, lazy imports included), the sans-I/O
core imports no I/O library, and the emulator never imports the client. Read from the source
with ``ast`` (nothing is imported), so a cycle hidden behind a lazy import still fails."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "s2st"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module of the package that ``name`` is (or is inside), if any."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks (never run)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _imports(module: str, *, typing: bool = True) -> set[str]:
    """Every module of the package that ``module`` imports, at any depth of its code (imports
    inside functions included; ``TYPE_CHECKING`` blocks too unless ``typing=False``)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if typing else _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}
#: what runs: without the TYPE_CHECKING imports
RUNTIME = {module: _imports(module, typing=False) for module in MODULES}


def _parents(module: str) -> set[str]:
    """A module's package __init__ files run before it: importing them is not a cycle."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v] - _parents(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def _closure(module: str) -> set[str]:
    """The modules that importing ``module`` runs (lazy imports inside functions included)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for nxt in RUNTIME[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _foreign(module: str) -> set[str]:
    """Top-level names of the outside modules that ``module`` imports (any depth)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"s2st"}


def test_the_graph_is_read() -> None:
    assert len(MODULES) > 50
    assert "s2st.protocol.state" in GRAPH["s2st.protocol"]
    assert "s2st._io.supervisor" in GRAPH["s2st.session"]


def test_no_import_cycle() -> None:
    assert _cycles() == []


SANS_IO = sorted(
    m
    for m in MODULES
    if m.startswith("s2st.protocol")
    or m in ("s2st.events", "s2st.errors", "s2st._watch", "s2st.metrics", "s2st.stats")
)


@pytest.mark.parametrize("module", SANS_IO)
def test_the_sans_io_core_imports_no_io_library(module: str) -> None:
    io = {"asyncio", "websockets", "socket", "ssl", "selectors", "google", "aiohttp"}
    for dep in {module} | _closure(module):
        assert not (_foreign(dep) & io), (
            f"{module} reaches {dep}, which imports {_foreign(dep) & io}"
        )


def test_the_emulator_never_imports_the_client() -> None:
    client = {"s2st.session", "s2st.client", "s2st.auth"} | {
        m for m in MODULES if m.startswith("s2st._io")
    }
    emulator = [m for m in MODULES if m.startswith("s2st.emulator")]
    for module in emulator:
        assert not (_closure(module) & client), (module, sorted(_closure(module) & client))


def test_the_session_layer_is_below_the_product_features() -> None:
    """session, client and the I/O layer never import the features built on them."""
    features = {"s2st.fanout", "s2st.conversation", "s2st.group", "s2st.translate", "s2st.batch"}
    features |= {m for m in MODULES if m.startswith(("s2st.relay", "s2st.cli", "s2st.local"))}
    for module in [
        "s2st.session",
        "s2st.client",
        *[m for m in MODULES if m.startswith("s2st._io")],
    ]:
        assert not (_closure(module) & features), (module, sorted(_closure(module) & features))
