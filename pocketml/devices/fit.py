"""Does a deployed model fit a board? Compare measured RAM and flash with its budgets."""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.devices.device import Device


@dataclass(frozen=True)
class Fit:
    fits: bool
    reason: str


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
