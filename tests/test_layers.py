"""The import graph of src/percediag follows the layers, with no cycle.

Read from the source with `ast`, so every import counts: module level,
inside functions, under TYPE_CHECKING, and dynamic ones (`importlib.import_module`,
`__import__`, and any string constant that names a percediag module, as
the renderer table does). A dynamic import whose name cannot be read from
the source is refused unless DYNAMIC names the module and says why. A
module may import its own
layer and the layers below it. A new module must be placed in LAYERS:
an unplaced one fails, so the picture in docs/architecture.md cannot drift
from the code without this test noticing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "percediag"

# Bottom to top. Data flows sources -> parse -> records -> rules -> diagnose
# -> report -> cli; imports run the other way. The record types (model,
# findings) are the vocabulary the parsers write and everything above reads,
# so they sit below the parsers; the derived facts over records (metrics,
# trajectory) sit above them.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("percediag.errors",)),
    ("normalize", ("percediag.normalize",)),
    ("sources", ("percediag.sources", "percediag.notebook", "percediag.events")),
    ("config", ("percediag.settings", "percediag.discovery", "percediag.roundtable", "percediag.version")),
    ("types", ("percediag.model", "percediag.findings")),
    ("parse", ("percediag.parsers", "percediag.prescan", "percediag.gradient_matrix")),
    ("metrics", ("percediag.metrics", "percediag.trajectory")),
    ("rules", ("percediag.rules",)),
    ("diagnose", ("percediag.diagnose",)),
    ("compare", ("percediag.compare",)),
    ("report", ("percediag.report",)),
    ("pipeline", ("percediag.pipeline",)),
    ("live", ("percediag.live",)),
    ("cli", ("percediag.cli", "percediag.__main__", "percediag.outputs", "percediag")),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


# Modules that import by a name built at run time, and which names it can build.
DYNAMIC = {
    # Rule discovery: every module of the rules package, by its file name.
    "percediag.rules.registry": "percediag.rules.",
    # The renderer table FORMATS holds its module names as string constants (read as imports below).
    "percediag.report": None,
}


def layer_of(module: str) -> int | None:
    """Index of the most specific layer prefix that owns `module` (the package itself only by its exact name)."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "percediag" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def _known(name: str) -> str | None:
    """The module a dotted name refers to: itself, or its nearest enclosing module."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _dynamic_target(module: str, call: ast.Call) -> list[str]:
    """What an `import_module(...)` / `__import__(...)` call imports, read from its argument."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
    if name not in ("import_module", "__import__") or not call.args:
        return []
    argument = call.args[0]
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.JoinedStr) and argument.values and isinstance(argument.values[0], ast.Constant):
        prefix = str(argument.values[0].value)
        if DYNAMIC.get(module) == prefix:
            return [prefix.rstrip(".")]
    if module in DYNAMIC and DYNAMIC[module] is None:
        return []  # its names are string constants, read as imports by imports_of
    raise AssertionError(f"{module}:{call.lineno}: a dynamic import whose name the layering test cannot read; "
                         f"name it in DYNAMIC with the reason")


def imports_of(module: str) -> dict[str, int]:
    """Every percediag module `module` imports -> the first line that does."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Call):
            targets = _dynamic_target(module, node)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value and node.value in MODULES
              and id(node) not in docstrings):
            targets = [node.value]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from a import b` imports the module a.b when there is one, else a name in a.
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in MODULES else stem for alias in node.names]
        for target in targets:
            if target.split(".")[0] != "percediag":
                continue
            resolved = _known(target)
            if resolved is not None and resolved != module:
                found.setdefault(resolved, node.lineno)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer():
    unplaced = [module for module in MODULES if layer_of(module) is None]
    assert not unplaced, f"place these modules in a layer of tests/test_layers.py: {unplaced}"


def test_imports_run_downward_only():
    upward = []
    for module, targets in GRAPH.items():
        own = layer_of(module)
        for target, line in targets.items():
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {module} ({LAYERS[own][0]}) "
                              f"imports {target} ({LAYERS[theirs][0]})")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_what_it_must():
    """The checker itself: a cycle and an upward import it must catch, and function-level imports it must read."""
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []
    assert layer_of("percediag.rules.registry") > layer_of("percediag.model")
    assert layer_of("percediag.parsers.fast") == layer_of("percediag.prescan")
    assert layer_of("percediag") == len(LAYERS) - 1
    assert layer_of("percediag.not_placed") is None  # a new top-level module needs its layer
    with pytest.raises(AssertionError, match="dynamic import"):
        _dynamic_target("percediag.normalize", ast.parse("importlib.import_module(name)").body[0].value)
    assert _dynamic_target("percediag.normalize", ast.parse('__import__("percediag.cli")').body[0].value) == ["percediag.cli"]
    # The renderer table's string constants are imports of the report package.
    assert "percediag.report.html" in GRAPH["percediag.report"]
    # percediag.cli.check imports inside functions too; the package API is at the top.
    assert "percediag.pipeline" in GRAPH["percediag.cli.check"]


@pytest.mark.parametrize("doc", ["docs/architecture.md"])
def test_the_documented_layers_are_these(doc):
    """docs/architecture.md names every layer of this test in this order."""
    text = (PACKAGE.parents[1] / doc).read_text(encoding="utf-8")
    section = text.split("## Layers", 1)
    assert len(section) == 2, f"{doc} has no '## Layers' section"
    positions = [section[1].find(f"`{name}`") for name, _ in LAYERS]
    missing = [name for (name, _), pos in zip(LAYERS, positions) if pos < 0]
    assert not missing, f"{doc} does not name the layers {missing}"
    assert positions == sorted(positions), f"{doc} names the layers out of order"
