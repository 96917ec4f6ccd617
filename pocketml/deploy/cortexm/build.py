"""Cross-compile the emitted C for a Cortex-M core and measure flash, RAM and stack from the toolchain.

Two links from the same objects (``-Os``, ``-ffunction-sections -fdata-sections``):

    model.elf     the model and its kernels alone (entry = ``<prefix>_invoke``, ``--gc-sections``):
                  exactly what a firmware project adds, plus the libgcc / newlib routines they call.
                  ``arm-none-eabi-size -A`` of this ELF gives the flash and RAM figures.
    firmware.elf  the same objects plus ``firmware/harness.c`` (startup, semihosting I/O, SysTick
                  timing) for QEMU; never measured.

    flash = .text + .rodata + .ARM.exidx/.ARM.extab + .data   (code, constants, initial values)
    RAM   = .data + .bss (the arena) + stack + the caller's input and output buffers
    stack = a static bound: the deepest call path of ``-fcallgraph-info=su`` frame sizes
            (``None`` when a frame is dynamic or the graph has a cycle); the run in QEMU also
            measures the stack actually used (painted stack), and the larger of the two is used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pocketml.deploy.cortexm.toolchain import core_target, require_tool
from pocketml.devices.footprint import footprint
from pocketml.errors import PocketMLError

OPT_FLAGS = ("-std=c99", "-ffunction-sections", "-fdata-sections")
OPT_LEVELS = ("-Os", "-O2")  # size (the default) or speed: what `--optimize` picks
KERNEL_OPT = {"dsp-speed": "-O2"}  # model.h's <PREFIX>_KERNELS -> its optimization level (else -Os)
WARN_FLAGS = ("-Wall", "-Wextra", "-Werror", "-pedantic")
MEASURED_SECTIONS = (".text", ".rodata", ".ARM.exidx", ".ARM.extab", ".data", ".bss")  # for devices/footprint.py


@dataclass(frozen=True)
class CortexMBuild:
    """The cross-compiled model: both ELFs, the model-only section sizes and the stack bound."""

    core: str
    cpu_flags: tuple[str, ...]
    opt: str
    kernels: str  # model.h's <PREFIX>_KERNELS: portable, dsp-speed or dsp-size
    prefix: str
    input_bytes: int
    output_bytes: int
    firmware: Path
    model_elf: Path
    sections: dict[str, int]  # model-only ELF: .text, .rodata, .ARM.exidx, .ARM.extab, .data, .bss
    stack_bound_bytes: int | None
    stack_frames: dict[str, int] = field(default_factory=dict)  # function -> static frame bytes
    input_in_arena: bool = False  # the memory plan keeps the input in the arena (<prefix>_input_buffer)

    @property
    def flash_bytes(self) -> int:
        return footprint(self.sections, self.core).flash_bytes

    @property
    def io_bytes(self) -> int:
        """The input and output buffers the caller owns: not the input when it lives in the arena
        (the caller writes it at ``<prefix>_input_buffer()``, already counted in .bss)."""
        return (0 if self.input_in_arena else self.input_bytes) + self.output_bytes

    def ram_bytes(self, stack_bytes: int) -> int:
        """.data + .bss + ``stack_bytes`` + the input and output buffers the caller passes in."""
        return footprint(self.sections, self.core, io_bytes=self.io_bytes, stack_bytes=stack_bytes).ram_bytes


def read_kernels(c_dir: Path) -> str:
    """Which kernels an emitted C folder calls (``model.h``'s ``<PREFIX>_KERNELS``; older folders: portable)."""
    found = re.search(r'#define \w+_KERNELS "([\w-]+)"', (Path(c_dir) / "model.h").read_text())
    return found.group(1) if found else "portable"


def read_interface(c_dir: Path) -> tuple[str, int, int]:
    """(prefix, input bytes, output bytes) from the emitted ``model.h``."""
    header = Path(c_dir) / "model.h"
    if not header.is_file():
        raise PocketMLError(f"{c_dir} has no model.h", "pass the c/ folder written by `pocketml shrink` (OUT/c)")
    text = header.read_text()
    invoke = re.search(r"int (\w+)_invoke\(", text)
    sizes = dict(re.findall(r"#define \w+_(INPUT|OUTPUT)_BYTES \(?(\d+)\)?", text))
    if invoke is None or set(sizes) != {"INPUT", "OUTPUT"}:
        raise PocketMLError(f"{header} does not declare <prefix>_invoke and the input/output sizes",
                            "regenerate the C with `pocketml shrink`")
    return invoke.group(1), int(sizes["INPUT"]), int(sizes["OUTPUT"])


def build_cortexm(c_dir: str | Path, core: str = "cortex-m4f", work: str | Path | None = None, *,
                  opt: str | None = None, profile: bool = False, include_dirs: tuple[Path, ...] = (),
                  libraries: tuple[Path, ...] = (), reuse: CortexMBuild | None = None,
                  interface: tuple[str, int, int] | None = None, harness: str | None = None) -> CortexMBuild:
    """Cross-compile ``c_dir`` (an emitted OUT/c) for ``core``; link the model alone and the QEMU firmware.

    ``opt``: ``-Os`` or ``-O2``; None: what the folder was emitted for (``-O2`` for DSP kernels
    built for speed, else ``-Os``). ``profile``: build with ``-DPOCKETML_PROFILE``, so the firmware
    times every layer (``QemuRun.layer_instructions``); the model-only ELF then resolves the timer
    to an empty address and its sizes include the timer calls. ``include_dirs`` (as ``-isystem``)
    and ``libraries`` (archives linked into both ELFs) bring another library's kernels, e.g. the
    CMSIS-NN build bench/cmsis_nn.py compares with. ``reuse``: an earlier build of the same folder for
    the same core and level, whose objects are copied instead of compiled again, except ``model.c``'s
    (the only source the profile's define changes).

    A program around a model (e.g. the keyword spotter) passes its own ``interface`` (prefix,
    input bytes, output bytes: the harness calls ``<prefix>_invoke`` once per record, the sizes
    link ``<prefix>_invoke`` alone) and ``harness`` (the harness source text, by default
    ``firmware/harness.c`` with ``@P@``/``@p@`` replaced by the prefix).
    """
    defines = ("POCKETML_PROFILE",) if profile else ()
    system = tuple(f"-isystem{d}" for d in include_dirs)
    c_dir = Path(c_dir)
    target = core_target(core)
    prefix, in_bytes, out_bytes = interface if interface is not None else read_interface(c_dir)
    kernels = read_kernels(c_dir)
    opt = opt or KERNEL_OPT.get(kernels, "-Os")
    if opt not in OPT_LEVELS:
        raise PocketMLError(f"optimization level {opt!r} is not one pocketml builds with",
                            f"use one of {', '.join(OPT_LEVELS)}")
    gcc = require_tool("arm-none-eabi-gcc")
    require_tool("arm-none-eabi-size")
    sources = sorted(p for p in c_dir.glob("*.c") if p.name != "main.c")
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="pocketml-cortexm-"))
    work.mkdir(parents=True, exist_ok=True)
    firmware_dir = resources.files("pocketml.deploy.cortexm") / "firmware"
    script = work / "mps2_an386.ld"
    script.write_text((firmware_dir / "mps2_an386.ld").read_text())

    objects = []
    same = reuse is not None and reuse.core == core and reuse.opt == opt and not include_dirs
    for src in sources:
        obj = work / f"{src.stem}.o"
        if same and src.name != "model.c" and (reuse.firmware.parent / obj.name).is_file():
            for suffix in (".o", ".ci", ".su"):  # the object and its stack-usage files
                old = reuse.firmware.parent / f"{src.stem}{suffix}"
                if old.is_file():
                    shutil.copyfile(old, work / old.name)
            objects.append(obj)
            continue
        _run([gcc, *target.cpu_flags, opt, *OPT_FLAGS, *WARN_FLAGS, *(f"-D{d}" for d in defines), "-fstack-usage",
              "-fcallgraph-info=su", f"-I{c_dir}", *system, "-c", str(src), "-o", str(obj)],
             f"compiling {src.name} for {core}")
        objects.append(obj)
    link = [gcc, *target.cpu_flags, opt, "-nostartfiles", "-Wl,--gc-sections", f"-T{script}"]
    model_elf = work / "model.elf"
    _run([*link, f"-Wl,-e,{prefix}_invoke", f"-Wl,-u,{prefix}_invoke", f"-Wl,-Map={work / 'model.map'}",
          *(["-Wl,--defsym=pocketml_profile_layer=0"] if profile else []),
          *map(str, objects), *map(str, libraries), "-lc", "-lgcc", "-o", str(model_elf)],
         f"linking the model for {core}")

    harness_c = work / "harness.c"
    harness_c.write_text((harness if harness is not None else (firmware_dir / "harness.c").read_text())
                         .replace("@P@", prefix.upper()).replace("@p@", prefix))
    harness_obj = work / "harness.o"
    _run([gcc, *target.cpu_flags, opt, *OPT_FLAGS, "-Wall", "-Wextra", "-Werror", *(f"-D{d}" for d in defines),
          f"-I{c_dir}", f"-I{firmware_dir}", "-c", str(harness_c),
          "-o", str(harness_obj)], f"compiling the QEMU harness for {core}")
    firmware = work / "firmware.elf"
    _run([*link, f"-Wl,-Map={work / 'firmware.map'}", str(harness_obj), *map(str, objects), *map(str, libraries),
          "-lc", "-lgcc",
          "-o", str(firmware)], f"linking the QEMU firmware for {core}")

    frames, edges, dynamic = _callgraph(work)
    bound = None if dynamic else _deepest(f"{prefix}_invoke", frames, edges)
    header = c_dir / "model.h"
    in_arena = header.is_file() and f"{prefix}_input_buffer(void)" in header.read_text()
    return CortexMBuild(core, target.cpu_flags, opt, kernels, prefix, in_bytes, out_bytes, firmware, model_elf,
                        elf_sections(model_elf), bound, frames, in_arena)


def elf_sections(elf: Path) -> dict[str, int]:
    """Allocated section sizes of ``elf`` from ``arm-none-eabi-size -A`` (bytes)."""
    proc = _run([require_tool("arm-none-eabi-size"), "-A", str(elf)], f"reading the sections of {elf.name}")
    sizes = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit() and parts[0] in MEASURED_SECTIONS:
            sizes[parts[0]] = int(parts[1])
    return sizes


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes \(([^)]*)\)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def _callgraph(work: Path) -> tuple[dict[str, int], dict[str, set[str]], bool]:
    """Frame sizes and call edges from GCC's ``-fcallgraph-info=su`` files; True if any frame is dynamic."""
    frames: dict[str, int] = {}
    edges: dict[str, set[str]] = {}
    dynamic = False
    for ci in work.glob("*.ci"):
        if ci.stem == "harness":
            continue
        text = ci.read_text()
        for name, nbytes, kind in _NODE.findall(text):
            frames[name] = int(nbytes)
            dynamic |= "dynamic" in kind and "bounded" not in kind
        for src, dst in _EDGE.findall(text):
            edges.setdefault(src, set()).add(dst)
    return frames, edges, dynamic


def _deepest(root: str, frames: dict[str, int], edges: dict[str, set[str]]) -> int | None:
    """Largest sum of frames along a call path from ``root``; None on recursion.

    Callees with no frame in the graph (libgcc / newlib leaf routines such as memset) count 0
    here; the stack painted and measured in QEMU covers them.
    """
    def depth(fn: str, path: frozenset[str]) -> int | None:
        if fn in path:
            return None
        deepest = 0
        for callee in edges.get(fn, ()):
            d = depth(callee, path | {fn})
            if d is None:
                return None
            deepest = max(deepest, d)
        return frames.get(fn, 0) + deepest

    return depth(root, frozenset())


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PocketMLError(f"{what} failed:\n{proc.stdout}{proc.stderr}"[:3000],
                            "this is a pocketml bug: please report it with the model that caused it")
    return proc


def clean(build: CortexMBuild) -> None:
    """Remove the build folder (the caller's choice: results keep only the figures)."""
    shutil.rmtree(build.firmware.parent, ignore_errors=True)
