"""What a deployed model takes on a board and whether it fits: the one rule, for every core.

Every figure starts from the compiled objects' section sizes (host ``size`` or the Cortex-M cross
build's ``arm-none-eabi-size -A``; names with or without the leading dot):

    flash = .text + .rodata + .ARM.exidx + .ARM.extab + .data    code, constants, initial values
    RAM   = .data + .bss + stack + the caller's input and output buffers
            + .rodata on an 8-bit AVR (Harvard: ``static const`` data is copied into SRAM at
              start-up unless placed with ``PROGMEM``, which the emitter does not do)

``shrink``, ``compile``, ``match`` (every candidate), ``compress --target-flash`` and ``verify``
all call :func:`footprint`; nothing else adds sections up. :func:`check_fit` compares the result
with the board's SRAM and flash and names each budget exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.devices.device import Device

FLASH_SECTIONS = ("text", "rodata", "ARM.exidx", "ARM.extab", "data")
RAM_SECTIONS = ("data", "bss")
HARVARD_CONST_IN_RAM = frozenset({"avr8"})  # cores whose const data lives in SRAM


@dataclass(frozen=True)
class Fit:
    fits: bool
    reason: str


@dataclass(frozen=True)
class Footprint:
    """Flash and RAM of a deployed model on one core, and how they were measured."""

    flash_bytes: int
    ram_bytes: int
    method: str  # e.g. "host gcc -Os object sections ...": what the figures are
    const_in_ram: bool = False  # .rodata counted in RAM (Harvard core)

    def fit(self, device: Device) -> Fit:
        return check_fit(device, self.ram_bytes, self.flash_bytes)


def _size(sections: dict[str, int], name: str) -> int:
    return int(sections.get(name, 0)) + int(sections.get("." + name, 0))


def footprint(sections: dict[str, int], core: str, *, io_bytes: int = 0, stack_bytes: int = 0,
              method: str = "") -> Footprint:
    """Flash and RAM from section sizes for ``core`` (see the module docstring).

    ``io_bytes``: the caller's input and output buffers; ``stack_bytes``: the stack, when known.
    """
    flash = sum(_size(sections, s) for s in FLASH_SECTIONS)
    ram = sum(_size(sections, s) for s in RAM_SECTIONS) + io_bytes + stack_bytes
    harvard = core in HARVARD_CONST_IN_RAM
    if harvard:
        ram += _size(sections, "rodata")
    return Footprint(flash, ram, method + ("; .rodata counted in RAM (AVR: const data is copied to SRAM)"
                                           if harvard else ""), harvard)


def check_fit(device: Device, ram_bytes: int, flash_bytes: int) -> Fit:
    """Name each budget exceeded and by how much; otherwise say how much of each is used."""
    over = []
    if ram_bytes > device.sram_bytes:
        over.append(f"RAM: needs {ram_bytes:,} B but {device.name} has {device.sram_bytes:,} B of SRAM "
                    f"(over by {ram_bytes - device.sram_bytes:,} B, {ram_bytes / device.sram_bytes:.1f}x)")
    if flash_bytes > device.flash_bytes:
        over.append(f"flash: needs {flash_bytes:,} B but {device.name} has {device.flash_bytes:,} B "
                    f"(over by {flash_bytes - device.flash_bytes:,} B, {flash_bytes / device.flash_bytes:.1f}x)")
    if over:
        return Fit(False, "does not fit: " + "; ".join(over)
                   + ". Pick a larger board (`pocketml devices`) or a smaller model.")
    return Fit(True, f"fits: RAM {ram_bytes:,} of {device.sram_bytes:,} B "
                     f"({100 * ram_bytes / device.sram_bytes:.1f}%), flash {flash_bytes:,} of "
                     f"{device.flash_bytes:,} B ({100 * flash_bytes / device.flash_bytes:.1f}%)")
