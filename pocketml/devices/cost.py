"""Cost model: an *estimate* of cycles, latency and energy per inference from MACs and the core.

    cycles  ≈ MACs · cycles_per_mac[core] + output elements · cycles_per_output[core]
    latency ≈ cycles / clock
    energy  ≈ latency · active power (the board's catalogue figure at that clock)

The per-core constants model pocketml's portable reference kernels (plain C99, no SIMD
intrinsics), reasoned from the inner loop ``acc += (x + offset) * w``: two byte loads, an add,
a multiply-accumulate and loop control. On a Cortex-M4 that is LDRSB x2 (2 cycles each unless
pipelined), ADD, MLA (1 cycle), and a compare-and-branch (1 + pipeline refill), about 6 cycles
(ARM Cortex-M4 Technical Reference Manual, "Instruction set summary", cycle counts). The others
scale from their pipelines: the M7 dual-issues (~3), the M0+ has no MLA (~9), the 8-bit AVR
builds a 32-bit accumulate from 8-bit multiplies (~30, from ATmega328P instruction timings:
MUL 2 cycles, 32-bit add 4, loads 2 each, plus carries), application cores vectorise -O2 loops.
The per-output term covers requantization (a 64-bit multiply, shifts, clamp).

Every figure from here is labelled an estimate wherever it is shown. When the deployed binary was
run in QEMU (a Cortex-M4 or M0+ board), its instruction count replaces the MAC model as the cycle
count (``instructions=``): one estimate per model, used by the summary, the energy budget and the
report alike, its method named.
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.devices.device import Device

# core -> (cycles per MAC, cycles per output element) for the reference kernels
CYCLES = {
    "avr8": (30.0, 120.0),
    "cortex-m0plus": (9.0, 60.0),
    "cortex-m4": (6.0, 30.0),
    "cortex-m4f": (6.0, 30.0),
    "cortex-m33f": (5.0, 25.0),
    "cortex-m7f": (3.0, 15.0),
    "xtensa-lx7": (4.0, 25.0),
    "cortex-a72": (0.5, 5.0),
    "cortex-a76": (0.35, 4.0),
    "cortex-x1": (0.3, 3.0),
}
DEFAULT_CORE = "cortex-m4"  # used, and said, for cores the table does not know
METHOD = "estimate: MACs x cycles-per-MAC of the core class (pocketml.devices.cost)"
INSTRUCTIONS_METHOD = ("estimate: QEMU instruction count of the Cortex-M build at 1 instruction per cycle "
                       "(a lower bound on cycles: loads, taken branches and flash wait states cost more)")
MIX_METHOD = ("estimate: the Cortex-M build's instructions as QEMU ran them, priced by class with the Cortex-M4 "
              "TRM's cycle counts, flash refills hitting the cache (deploy/cortexm/cycles.py)")


@dataclass(frozen=True)
class CostEstimate:
    cycles: float
    latency_ms: float
    energy_uj: float
    core_class: str
    method: str = METHOD

    def to_dict(self) -> dict:
        return {"cycles": round(self.cycles), "latency_ms": round(self.latency_ms, 4),
                "energy_uj": round(self.energy_uj, 3), "core_class": self.core_class,
                "estimate": True, "method": self.method}


def estimate_cost(macs: int, outputs: int, device: Device, instructions: int | None = None,
                  mix_cycles: float | None = None) -> CostEstimate:
    """Estimated cycles, latency (ms) and energy (µJ) of one inference on ``device``.

    ``instructions``: the QEMU instruction count of the deployed binary, when it ran; it is then the
    cycle count, instead of the MAC model. ``mix_cycles``: the cycle estimate from the instructions
    it ran, by class (deploy/cortexm/cycles.py); preferred when there is one.
    """
    core = device.core if device.core in CYCLES else DEFAULT_CORE
    if mix_cycles:
        cycles, method = float(mix_cycles), MIX_METHOD
    elif instructions:
        cycles, method = float(instructions), INSTRUCTIONS_METHOD
    else:
        per_mac, per_out = CYCLES[core]
        cycles = macs * per_mac + outputs * per_out
        method = METHOD if core == device.core else f"{METHOD}; core '{device.core}' unknown, {core} used"
    latency_s = cycles / (device.clock_mhz * 1e6)
    return CostEstimate(cycles, latency_s * 1e3, latency_s * device.active_mw * 1e3, core, method)
