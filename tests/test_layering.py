"""Imports flow one way, as data does: nothing imports a later stage of the pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pocketml"
ORDER = [
    {"errors", "_version", "outputs"},
    {"data", "devices", "energy"},
    {"models", "graph"},
    {"compress"},
    {"federated"},
    {"deploy"},
    {"result"},
    {"report"},
    {"pipeline", "compiler"},
    {"search", "apps", "nlp"},
    {"cli"},
]


def _level(part: str) -> int:
    for i, names in enumerate(ORDER):
        if part in names:
            return i
    raise AssertionError(f"pocketml/{part} has no place in the layering table; add it to ORDER")


def test_no_upward_imports():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue  # the package root re-exports the public API
        own = _level(rel.parts[0].removesuffix(".py"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pocketml."):
                target = node.module.split(".")[1]
                if _level(target) > own:
                    problems.append(f"{rel} imports {node.module}")
    assert not problems, problems
