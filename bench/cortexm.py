"""Cortex-M figures for BENCHMARKS.md: every built-in model cross-compiled, run in QEMU, sized per board.

    nice .venv/bin/python bench/cortexm.py [--models digits-cnn,...] [--samples N] [--m0-samples 20]
                                           [--budget INSTRUCTIONS]

For each model family in ``pocketml.models.BUILTIN`` (trained on its built-in data, seed 0):
quantize, emit C, then for every Cortex-M core in the catalogue cross-compile with
arm-none-eabi-gcc -Os and measure flash / RAM of the model alone (arm-none-eabi-size); run the
Cortex-M4F build in QEMU (mps2-an386) on the whole test split (or ``--samples``) and compare
with the numpy reference byte for byte; the M0+ build runs on ``--m0-samples`` inputs. With
``--budget``, each QEMU run is cut to the first inputs that fit in that many instructions (as
``shrink`` does: ``measure_for_device`` counts one input first), so the big families finish in
minutes. Prints markdown tables; ``fits`` is decided from the measured figures (pocketml.devices.footprint).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from pocketml import load_catalogue
from pocketml.compress.quantize import quantize
from pocketml.deploy.c import emit_c
from pocketml.deploy.cortexm import core_target, is_cortexm, measure_cortexm
from pocketml.deploy.cortexm.measure import measure_for_device
from pocketml.devices.footprint import check_fit
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.models import BUILTIN, get_builtin


def measure_family(name: str, samples: int | None, m0_samples: int, tmp: Path, budget: int = 0) -> list[str]:
    t = time.perf_counter()
    model, data = get_builtin(name).trained(seed=0, progress=False)
    graph = quantize(capture(model, torch.as_tensor(data.train.x[:1]), name), data.train.x)
    plan = plan_memory(graph)
    source = emit_c(graph, plan, name)
    c_dir = tmp / name / "c"
    c_dir.mkdir(parents=True)
    for fname, text in source.files.items():
        (c_dir / fname).write_text(text)
    x_q = graph.quantize_input(data.test.x if samples is None else data.test.x[:samples])
    ref = graph.run(x_q).reshape(len(x_q), -1)
    prep_s = time.perf_counter() - t

    boards = [b for b in load_catalogue().values() if is_cortexm(b.core)]
    reports = {}
    for core in sorted({b.core for b in boards}):
        n = len(x_q) if core == "cortex-m4f" else min(m0_samples, len(x_q)) if core_target(core).runs_in_qemu else 0
        t = time.perf_counter()
        report = (measure_for_device(c_dir, core, x_q[:n], ref[:n], budget=budget)
                  if budget and n else None)  # None: no toolchain, measure_cortexm says what is missing
        reports[core] = (report or measure_cortexm(c_dir, core, x_q[:n] if n else None, ref[:n] if n else None),
                         time.perf_counter() - t)
    lines = [f"### {name}: {graph.macs():,} MACs, weights+constants {source.const_bytes:,} B, "
             f"arena {plan.arena_bytes:,} B (train+quantize+emit {prep_s:.0f} s)\n",
             "| core | -mcpu flags | flash B (.text/.rodata/.data) | RAM B (.data+.bss / stack / I/O) | "
             "QEMU samples | QEMU mismatches | instructions per inference (min-max) | build+QEMU s |",
             "|---|---|---|---|---|---|---|---|"]
    for core, (r, secs) in reports.items():
        s = r.sections
        insns = (f"{r.instructions_per_inference:,} ({r.instructions_min:,}-{r.instructions_max:,})"
                 if r.instructions_per_inference else "not run (QEMU's Cortex-M4 model lacks this core's FPv5/Armv8-M)")
        lines.append(f"| {core} | `{r.cpu_flags}` | {r.flash_bytes:,} ({s.get('.text', 0)}/{s.get('.rodata', 0)}/"
                     f"{s.get('.data', 0)}) | {r.ram_bytes:,} ({s.get('.data', 0) + s.get('.bss', 0)} / "
                     f"{r.stack_bytes} / {r.io_bytes}) | {r.qemu_samples} | "
                     f"{'-' if r.qemu_mismatches is None else r.qemu_mismatches} | {insns} | {secs:.1f} |")
    lines += ["", f"Per board ({name}; fits from the measured flash/RAM; latency = instructions / clock, "
              "an estimate at 1 instruction per cycle, a lower bound):\n",
              "| board | core | fits | flash used | RAM used | latency ms (estimate) |", "|---|---|---|---|---|---|"]
    m4_insns = reports.get("cortex-m4f", (None, 0))[0]
    for b in boards:
        r = reports[b.core][0]
        fit = check_fit(b, r.ram_bytes, r.flash_bytes)
        insns = r.instructions_per_inference or (m4_insns.instructions_per_inference if m4_insns else None)
        lat = f"{insns / (b.clock_mhz * 1e3):.2f}" + ("" if r.instructions_per_inference else " (M4F count)")
        lines.append(f"| {b.id} | {b.core} | {fit.fits} | {100 * r.flash_bytes / b.flash_bytes:.1f}% | "
                     f"{100 * r.ram_bytes / b.sram_bytes:.1f}% | {lat if insns else '-'} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(BUILTIN), help="comma-separated built-in model names")
    parser.add_argument("--samples", type=int, default=None, help="test inputs per model (default: all)")
    parser.add_argument("--m0-samples", type=int, default=20, help="inputs run for the Cortex-M0+ build")
    parser.add_argument("--budget", type=int, default=0,
                        help="QEMU instructions per core and family (first inputs that fit; default 0: no cap)")
    args = parser.parse_args()
    print("## Cortex-M: cross-compiled flash/RAM and QEMU instruction counts\n")
    given = args.models != ",".join(BUILTIN)
    flags = (f"{' --models ' + args.models if given else ''}{f' --budget {args.budget}' if args.budget else ''}"
             f"{f' --samples {args.samples}' if args.samples else ''}")
    print(f"Command: `nice .venv/bin/python bench/cortexm.py{flags}`"
          f" ({time.strftime('%Y-%m-%d', time.gmtime())}; arm-none-eabi-gcc 12.2, QEMU 7.2, mps2-an386).\n"
          "Instruction counts are QEMU `-icount` counts, the cycle *estimate* (not cycles). Flash and RAM are "
          "for the model and its kernels alone (harness excluded); RAM includes the stack and the 1-sample "
          "input/output buffers.\n")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            try:
                print("\n".join(measure_family(name, args.samples, args.m0_samples, Path(tmp), args.budget)),
                      flush=True)
            except Exception as exc:  # one family failing must not hide the others' figures
                print(f"### {name}: FAILED: {type(exc).__name__}: {str(exc)[:500]}\n", flush=True)


if __name__ == "__main__":
    main()
