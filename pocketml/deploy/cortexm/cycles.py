"""A cycle *estimate* for a Cortex-M4, from the instruction mix QEMU ran and the core's per-class costs.

QEMU's ``-icount`` counts instructions: an SMLAD counts one, like a MOV, and a taken branch one,
like a not-taken one. Cycles differ by class. ``firmware/insn_mix.c``, a TCG plugin (QEMU 7.2's
plugin API; qemu-system-arm exports it, Debian ships no plugins, so pocketml compiles this one with
the host's cc), counts how often every instruction ran, per layer, and how often each block ended
in a taken branch. Costs per class, from the Arm Cortex-M4 Technical Reference Manual (r0p1,
section 3.3.1, "Cortex-M4 instructions and their cycle counts", Table 3-1):

    data processing, extend, pack, saturate, SIMD add       1
    MUL, MLA, SMULxy, SMLAxy, SMLAD, SMMULR, SMULL, SMLAL   1   (single-cycle MAC, 32x32+64)
    SDIV, UDIV                                               2-12: 7 here
    LDR, STR (single)                                        2; 1 right after another load/store
                                                                (address and data phases pipeline)
    LDRD, STRD                                               1 + 2
    LDM, STM, PUSH, POP                                      1 + registers
    branch, or a load / POP into PC                          1, plus P = 2 when taken (P: pipeline
                                                                refill, 1-3 by the TRM)

Flash wait states (the board's catalogue ``flash_wait_states`` at its clock) add to a refill that
misses the flash accelerator/cache; ``cycles`` assumes every refill hits (0 wait states), and
``cycles_no_cache`` charges every taken branch the board's wait states: the range a real board
falls in. Both are estimates; the instruction count is the measurement.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pocketml.deploy.cortexm.toolchain import require_tool

METHOD = ("estimate: instructions QEMU ran (a TCG plugin, by class) x Cortex-M4 TRM cycle counts (loads 2, or 1 "
          "pipelined; LDRD 3; LDM/STM 1+N; taken branches 1+2; MAC 1); 'cycles' with every flash refill hitting the "
          "cache, 'cycles_no_cache' with the board's flash wait states on every taken branch")
REFILL = 2  # P: the pipeline refill of a taken branch (TRM: 1-3 cycles)
DIVIDE = 7  # SDIV/UDIV: 2-12 cycles
COND = "(?:eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?"
BRANCH = re.compile(rf"^(?:b|bl|bx|blx){COND}$|^(?:cbz|cbnz|tbb|tbh)$")
SINGLE = re.compile(rf"^(?:ldr|str)(?:b|h|sb|sh|ex|exb|exh)?{COND}$")
DOUBLE = re.compile(rf"^(?:ldrd|strd){COND}$")
MULTIPLE = re.compile(rf"^(?:ldm|stm)(?:ia|db|fd|ea)?{COND}$|^(?:push|pop)$")
MAC = re.compile(r"^(?:mul|mla|mls|smul|smla|smlsd|smuad|smusd|smmul|smmla|smmls|umull|umlal|umaal|smlal)")
SIMD = re.compile(r"^(?:sxt|uxt|sxta|uxta|ssat|usat|pkh|sadd|ssub|qadd|qsub|sel|uadd|usub|shadd|shsub)")
CLASSES = ("mac", "simd", "load/store", "branch", "other")


@dataclass(frozen=True)
class Instruction:
    mnemonic: str
    registers: int  # LDM/STM/PUSH/POP: registers moved
    writes_pc: bool

    @property
    def kind(self) -> str:
        if BRANCH.match(self.mnemonic) or self.writes_pc:
            return "branch"
        if SINGLE.match(self.mnemonic) or DOUBLE.match(self.mnemonic) or MULTIPLE.match(self.mnemonic):
            return "load/store"
        if MAC.match(self.mnemonic):
            return "mac"
        return "simd" if SIMD.match(self.mnemonic) else "other"

    def cycles(self, after_memory: bool) -> int:
        """Cycles when not a taken branch (a taken one adds ``REFILL``)."""
        m = self.mnemonic
        if DOUBLE.match(m):
            return 3
        if MULTIPLE.match(m):
            return 1 + self.registers
        if SINGLE.match(m):
            return 1 if after_memory else 2
        if m in ("sdiv", "udiv"):
            return DIVIDE
        return 1


@dataclass(frozen=True)
class CycleEstimate:
    """Estimated cycles of one run, total and per segment (layer), with the instruction mix."""

    cycles: tuple[int, ...]            # per segment, every refill hitting the flash cache
    cycles_no_cache: tuple[int, ...]   # per segment, every taken branch paying the wait states
    instructions: tuple[int, ...]      # per segment, as counted by the plugin (model code only)
    mix: dict[str, int]                # instructions per class, whole run
    wait_states: int


def disassemble(elf: Path) -> dict[int, Instruction]:
    """Address -> instruction, from arm-none-eabi-objdump."""
    objdump = require_tool("arm-none-eabi-objdump")
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    found = {}
    for line in text.splitlines():
        parts = line.strip().split("\t")
        if len(parts) < 2 or not parts[0].endswith(":"):
            continue
        try:
            address = int(parts[0][:-1], 16)
        except ValueError:
            continue
        mnemonic = parts[1].split(".")[0].strip().lower()
        operands = parts[2] if len(parts) > 2 else ""
        found[address] = Instruction(mnemonic, _registers(operands), _writes_pc(mnemonic, operands))
    return found


def _registers(operands: str) -> int:
    inside = re.search(r"\{([^}]*)\}", operands)
    if inside is None:
        return 0
    count = 0
    for item in inside.group(1).split(","):
        ends = re.findall(r"\d+", item)
        count += int(ends[1]) - int(ends[0]) + 1 if "-" in item and len(ends) == 2 else 1
    return count


def _writes_pc(mnemonic: str, operands: str) -> bool:
    first = operands.split(",")[0].strip()
    return (mnemonic == "pop" and "pc" in operands) or (mnemonic.startswith("ldr") and first == "pc") \
        or (mnemonic.startswith("mov") and first == "pc")


def model_ranges(firmware: Path, model_elf: Path) -> list[tuple[int, int]]:
    """[start, end) of every function of the firmware that the model-only ELF has too (not the harness)."""
    nm = require_tool("arm-none-eabi-nm")

    def functions(elf: Path) -> dict[str, tuple[int, int]]:
        out = subprocess.run([nm, "-S", "--defined-only", str(elf)], capture_output=True, text=True, check=True).stdout
        table = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[2] in "tT":
                table[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        return table

    model = functions(model_elf)
    return sorted((a & ~1, (a & ~1) + size) for name, (a, size) in functions(firmware).items() if name in model)


_PLUGIN: dict[str, Path | None] = {}  # compiled once per process, into a folder removed at exit


def plugin_library(work: Path | None = None) -> Path | None:
    """firmware/insn_mix.c compiled for the host (once per process); None without a host C compiler."""
    if "lib" in _PLUGIN:
        return _PLUGIN["lib"]
    import atexit
    import tempfile

    cc = shutil.which("cc") or shutil.which("gcc")
    lib = None
    if cc is not None:
        folder = Path(tempfile.mkdtemp(prefix="pocketml-plugin-"))
        atexit.register(shutil.rmtree, folder, True)
        src = folder / "insn_mix.c"
        src.write_text((resources.files("pocketml.deploy.cortexm") / "firmware" / "insn_mix.c").read_text())
        lib = folder / "insn_mix.so"
        proc = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(src)], capture_output=True,
                              text=True)
        lib = lib if proc.returncode == 0 else None
    _PLUGIN["lib"] = lib
    return lib


def estimate(mix_file: Path, code: dict[int, Instruction], ranges: list[tuple[int, int]], segments: int,
             wait_states: int) -> CycleEstimate:
    """Sum the plugin's counts (``insn_mix.c``'s file) into cycles per segment, model code only."""
    cycles = [0] * segments
    worst = [0] * segments
    insns = [0] * segments
    mix = dict.fromkeys(CLASSES, 0)
    inside = _membership(ranges)
    for addresses, counts in _blocks(mix_file):
        kept = [(a, code.get(a)) for a in addresses if inside(a)]
        if not kept:
            continue
        block_cycles, previous_memory = 0, False
        for _, ins in kept:
            ins = ins or Instruction("nop", 0, False)
            block_cycles += ins.cycles(previous_memory)
            previous_memory = ins.kind == "load/store" and not ins.writes_pc
        last = kept[-1][1] or Instruction("nop", 0, False)
        branch_end = last.kind == "branch" and inside(addresses[-1])
        for segment, count, taken in counts:
            s = min(segment, segments - 1)
            extra = taken * REFILL if branch_end else 0
            cycles[s] += count * block_cycles + extra
            worst[s] += count * block_cycles + extra + (taken * wait_states if branch_end else 0)
            insns[s] += count * len(kept)
            for _, ins in kept:
                mix[(ins or Instruction("nop", 0, False)).kind] += count
    return CycleEstimate(tuple(cycles), tuple(worst), tuple(insns), mix, wait_states)


def _membership(ranges: list[tuple[int, int]]):
    import bisect

    starts = [a for a, _ in ranges]

    def inside(address: int) -> bool:
        k = bisect.bisect_right(starts, address) - 1
        return k >= 0 and address < ranges[k][1]

    return inside


def _blocks(mix_file: Path):
    """(instruction addresses, [(segment, count, taken)]) per translated block."""
    addresses: list[int] | None = None
    counts: list[tuple[int, int, int]] = []
    for line in mix_file.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "B":
            if addresses is not None:
                yield addresses, counts
            addresses, counts = [int(a, 16) for a in parts[3:]], []
        elif parts and parts[0] == "S":
            counts.append((int(parts[1]), int(parts[2]), int(parts[3])))
    if addresses is not None:
        yield addresses, counts
