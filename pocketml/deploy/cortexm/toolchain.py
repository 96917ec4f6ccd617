"""Which Cortex-M core is which compiler target, and where the Arm toolchain and QEMU are.

A board's ``core`` (catalogue.toml) picks the ``arm-none-eabi-gcc`` flags and whether the build
can run under ``qemu-system-arm -M mps2-an386`` (a Cortex-M4 with FPU). The M4 executes every
Armv6-M / Armv7-M / Armv7E-M integer instruction, so binaries for the M0+, M3 and M4 run there
unchanged; Cortex-M7 and M33 builds (FPv5, Armv8-M) are cross-compiled and measured, not run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from pocketml.errors import PocketMLError

INSTALL_TARGET = "make cortexm-toolchain"
QEMU_MACHINE = "mps2-an386"


@dataclass(frozen=True)
class CoreTarget:
    """Compiler flags for one core class and whether its build runs on the QEMU M4 model."""

    core: str
    cpu_flags: tuple[str, ...]
    runs_in_qemu: bool


_FP4 = ("-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
_FP5 = ("-mfpu=fpv5-sp-d16", "-mfloat-abi=hard")
TARGETS = {
    "cortex-m0plus": CoreTarget("cortex-m0plus", ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"), True),
    "cortex-m3": CoreTarget("cortex-m3", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"), True),
    "cortex-m4": CoreTarget("cortex-m4", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"), True),
    "cortex-m4f": CoreTarget("cortex-m4f", ("-mcpu=cortex-m4", "-mthumb", *_FP4), True),
    "cortex-m7f": CoreTarget("cortex-m7f", ("-mcpu=cortex-m7", "-mthumb", *_FP5), False),
    "cortex-m33f": CoreTarget("cortex-m33f", ("-mcpu=cortex-m33", "-mthumb", *_FP5), False),
}


def core_target(core: str) -> CoreTarget:
    """The build target of a Cortex-M core class; other cores are an error naming the known ones."""
    if core not in TARGETS:
        raise PocketMLError(f"core '{core}' is not a Cortex-M core pocketml cross-compiles for",
                            f"use a board whose core is one of {', '.join(TARGETS)}")
    return TARGETS[core]


def is_cortexm(core: str) -> bool:
    return core in TARGETS


def toolchain_available(need_qemu: bool = False) -> bool:
    tools = ["arm-none-eabi-gcc", "arm-none-eabi-size"] + (["qemu-system-arm"] if need_qemu else [])
    return all(shutil.which(t) for t in tools)


def require_tool(name: str) -> str:
    """The path of ``name``, or a PocketMLError saying which make target installs it."""
    path = shutil.which(name)
    if path is None:
        raise PocketMLError(
            f"{name} is not installed (needed for the Cortex-M build and QEMU check)",
            f"run `{INSTALL_TARGET}` (installs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and "
            "qemu-system-arm), or `make test`, which does it too")
    return path
