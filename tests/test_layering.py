"""Imports flow one way, as data does: nothing imports a later stage of the pipeline.

Every import form is read from the source (``import pocketml.x``, ``from pocketml.x import y``,
``from pocketml import x``, relative imports, ``importlib.import_module("pocketml.x")`` with a
literal name), in every module of the package, the package root included, at any depth (imports
inside functions count). A layer is a top-level subpackage or module, or a more specific dotted
path where one subpackage spans two layers (``graph.ir`` below ``ops``, ``graph.capture`` above).
Test files inside the package (``pocketml/ops/<kind>/test_<kind>.py``) are tests, not layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pocketml"
ORDER = [
    {"errors", "_version", "outputs"},
    {"data", "devices", "energy", "formats"},
    {"models", "graph.ir", "graph.fixedpoint", "graph.layers"},
    {"ops"},  # every op's folder: reference, C, .tflite mapping, capture and quantize rules
    {"graph"},  # capture (walks the ops' rules) and the memory planner
    {"compress", "data.selection"},  # selection's learners train with the models' loop
    {"federated"},
    {"deploy"},
    {"result"},
    {"report"},
    {"pipeline"},
    {"search", "apps", "nlp", "ondevice"},
    {"cli", "__main__"},
    {"__init__"},  # the package root re-exports the public API, lazily
]


def _level(module: str) -> int:
    """The layer of dotted module path ``module`` (relative to pocketml), the most specific entry winning."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        for i, names in enumerate(ORDER):
            if prefix in names:
                return i
    raise AssertionError(f"pocketml/{module.replace('.', '/')} has no place in the layering table; add it to ORDER")


def _module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """Is ``pocketml.a.b`` a module or package of the source tree?"""
    rel = Path(*dotted.split(".")[1:]) if dotted.startswith("pocketml.") else None
    return rel is not None and ((PACKAGE / rel).with_suffix(".py").is_file()
                                or (PACKAGE / rel / "__init__.py").is_file())


def _imports(path: Path, module: str) -> list[str]:
    """Every pocketml module ``path`` imports (relative to pocketml), whatever the form."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(["pocketml", *[p for p in base if p and p != "__init__"]]
                                  + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from pocketml.graph import fixedpoint` imports the module graph.fixedpoint
                sub = f"{target}.{alias.name}"
                found.append(sub if _is_module(sub) else target)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return [t.removeprefix("pocketml.") for t in found if t.startswith("pocketml.")]


def test_no_upward_imports():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        if path.name.startswith("test_"):
            continue
        module = _module_of(path)
        own = _level(module)
        for target in _imports(path, module):
            if _level(target) > own:
                problems.append(f"{module} imports pocketml.{target}")
    assert not problems, problems


def test_the_guard_sees_every_import_form(tmp_path):
    """The forms that fooled the old guard are seen: `import pocketml.x`, `from pocketml import x`,
    a relative import, an import inside a function, importlib with a literal name."""
    src = tmp_path / "probe.py"
    src.write_text("import pocketml.cli\nfrom pocketml import pipeline\nfrom ..report import html\n"
                   "def f():\n    from pocketml.search import match\n    import importlib\n"
                   "    importlib.import_module('pocketml.apps.wildfire')\n")
    found = _imports(src, "deploy.c.probe")
    assert {"cli", "pipeline", "deploy.report", "search.match", "apps.wildfire"} <= set(found), found
    assert _level("graph.ir") < _level("ops") < _level("graph.capture")
