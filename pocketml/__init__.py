"""pocketml: tiny AI — shrink PyTorch models into verified int8 C for microcontrollers.

The public API is imported on first use (PEP 562), so ``import pocketml`` and ``pocketml --help``
do not pay for torch: ``pocketml.shrink``, ``pocketml.compile``, ``pocketml.Device``, ...
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from pocketml._version import __version__

_API = {
    "shrink": ("pocketml.pipeline", "shrink"),
    "shrink_builtin": ("pocketml.pipeline", "shrink_builtin"),
    "compile": ("pocketml.pipeline", "compile_tflite"),  # pocketml.compile(model.tflite, device, out), as the CLI
    "compile_tflite": ("pocketml.pipeline", "compile_tflite"),
    "check_tflite_model": ("pocketml.pipeline", "check_tflite_model"),
    "check_model": ("pocketml.graph.capture", "check_model"),  # what shrink --check prints
    "Device": ("pocketml.devices", "Device"),
    "find_device": ("pocketml.devices", "find_device"),
    "load_catalogue": ("pocketml.devices", "load_catalogue"),
    "PocketMLError": ("pocketml.errors", "PocketMLError"),
    "Result": ("pocketml.result", "Result"),
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    if name in _API:
        module, attr = _API[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    raise AttributeError(f"module 'pocketml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from pocketml.devices import Device, find_device, load_catalogue  # noqa: F401
    from pocketml.errors import PocketMLError  # noqa: F401
    from pocketml.graph.capture import check_model  # noqa: F401
    from pocketml.pipeline import check_tflite_model, compile_tflite, shrink, shrink_builtin  # noqa: F401  # noqa: F401
    from pocketml.pipeline import compile_tflite as compile  # noqa: A004, F401
    from pocketml.result import Result  # noqa: F401
