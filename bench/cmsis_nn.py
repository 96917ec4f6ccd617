"""Side by side with Arm's CMSIS-NN: the same layers, parameters, weights and inputs, in the same QEMU.

    nice .venv/bin/python bench/cmsis_nn.py MODELS --cmsis-nn DIR [--samples 1000] [--device nucleo_l4r5zi]

MODELS is a folder of int8 ``.tflite`` files (the MLPerf Tiny reference models: a checkout of
github.com/mlcommons/tiny, ``benchmark/training/*/trained_models``); DIR is a checkout of
github.com/ARM-software/CMSIS-NN. Neither is part of pocketml: this bench builds CMSIS-NN from
DIR for the comparison only.

For every model (sorted by file name):

* pocketml: ``read_tflite`` -> QuantGraph -> the C ``pocketml compile --device DEVICE`` emits for the
  board: DSP kernels (a Cortex-M4/M7/M33) built for speed (``-O2``, int16 weights) and for size
  (``-Os``, int8 weights); and the portable C at ``-Os`` (what pocketml shipped before the DSP kernels)
  on the board's core and on a Cortex-M0+ (``--few-samples`` inputs: they are slow);
* CMSIS-NN: a generated ``model.c`` calling the CMSIS-NN functions TFLite Micro's CMSIS-NN kernels
  call (``arm_convolve_wrapper_s8``, ``arm_depthwise_conv_wrapper_s8``, ``arm_fully_connected_s8``,
  ``arm_avgpool_s8``, ``arm_elementwise_add_s8``, ``arm_softmax_s8``, ``arm_max_pool_s8``) with the same
  weights (TFLite's layouts), biases, multipliers, shifts, offsets and clamps, and a static arena
  from pocketml's planner without in-place ops; CMSIS-NN itself compiled from DIR with ``-O2`` and
  with ``-Os``;
* every build cross-compiled for the Cortex-M4 (arm-none-eabi-gcc, the board's -mcpu flags) with
  the same QEMU harness and run in ``qemu-system-arm -M mps2-an386 -icount shift=0`` on the same
  ``--samples`` uniform random int8 inputs (seed 0); outputs compared byte for byte with the numpy
  reference and with each other, and the source .tflite run in TFLite Micro on the same inputs;
* instructions per inference (QEMU's count, not cycles) and per layer (the profile build: each
  layer's SysTick window, 40-instruction resolution, timer call included), flash and RAM of the
  model-only ELF (arm-none-eabi-size; RAM = .data + .bss + measured stack + I/O buffers).

Prints markdown: a summary table, a per-layer table per model, and the KWS latency at the
board's clock beside MLPerf Tiny's published figures for that board.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.deploy.c import emit_c
from pocketml.deploy.c.dsp import KernelTarget, has_dsp
from pocketml.deploy.c.emit import c_identifier
from pocketml.deploy.cortexm import build_cortexm, core_target, run_qemu
from pocketml.deploy.cortexm.profile import profile_layers
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.devices import find_device
from pocketml.graph.planner import plan_memory
from pocketml.pipeline.from_tflite import random_inputs, run_source_in_tflm

CMSIS_FOLDERS = ("ActivationFunctions", "BasicMathFunctions", "ConvolutionFunctions", "FullyConnectedFunctions",
                 "NNSupportFunctions", "PoolingFunctions", "ReshapeFunctions", "SoftmaxFunctions")
# MLPerf Tiny v1.0/v1.1 inference results (closed division), keyword spotting on NUCLEO-L4R5ZI at 120 MHz,
# latency measured on the board by the submitters (as quoted in pocketml issue 19):
MLPERF_KWS_L4R5ZI_MS = {"STMicroelectronics X-CUBE-AI": 43.2, "Plumerai inference engine": 47.8,
                        "microTVM + CMSIS-NN": 99.8, "TFLite Micro + CMSIS-NN (reference)": 182.0}


# ---- CMSIS-NN: the library and a model.c calling it -------------------------------------------------------

def cmsis_library(cmsis: Path, opt: str, core: str, work: Path) -> Path:
    """CMSIS-NN's int8 sources compiled with ``opt`` for ``core`` into ``work/libcmsisnn.a``."""
    work.mkdir(parents=True, exist_ok=True)
    flags = [*core_target(core).cpu_flags, opt, "-std=c99", "-ffunction-sections", "-fdata-sections",
             f"-I{cmsis / 'Include'}"]
    objects = []
    for folder in CMSIS_FOLDERS:
        for src in sorted((cmsis / "Source" / folder).glob("*.c")):
            if any(t in src.stem for t in ("f16", "f32")):
                continue
            obj = work / f"{src.stem}.o"
            proc = subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(src), "-o", str(obj)],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                objects.append(obj)
    if not objects:
        sys.exit(f"no CMSIS-NN source compiled from {cmsis}/Source: is it a CMSIS-NN checkout?")
    archive = work / "libcmsisnn.a"
    subprocess.run(["arm-none-eabi-ar", "rcs", str(archive), *map(str, objects)], check=True)
    return archive


def _dims(n: int, h: int, w: int, c: int) -> str:
    return f"{{{n}, {h}, {w}, {c}}}"


def _shifts(rq) -> np.ndarray:
    return (np.asarray(rq.left_shift, np.int64) - np.asarray(rq.right_shift, np.int64)).astype(np.int32)


class CmsisModel:
    """Writes model.c for CMSIS-NN: arrays, per-layer constant structs and the calls, in the plan's order."""

    def __init__(self, graph, plan, prefix: str):
        self.graph, self.plan, self.p = graph, plan, prefix
        self.arrays: list[str] = []
        self.structs: list[str] = []
        self.calls: list[str] = []
        self.ctx_bytes = 0

    def array(self, ctype: str, ident: str, values) -> str:
        values = np.asarray(values).ravel()
        sym = f"{self.p}_{ident}"
        body = ",".join(str(int(v)) for v in values)
        self.arrays.append(f"static const {ctype} {sym}[{values.size}] = {{{body}}};")
        return sym

    def where(self, tensor: str) -> str:
        buf = self.plan.buffer_of(tensor)
        if buf.location == "input":
            return "input"
        if buf.location == "output":
            return "output"
        return f"&{self.p}_arena[{self.plan.offset_of(tensor)}]"

    def struct(self, ctype: str, ident: str, init: str) -> str:
        self.structs.append(f"static const {ctype} {self.p}_{ident} = {init};")
        return f"&{self.p}_{ident}"

    def source(self) -> str:
        p, P = self.p, self.p.upper()
        for index in self.plan.order:
            op, data = self.graph.ops[index], self.graph.op_data[index]
            if op.kind != "reshape":
                call = getattr(self, f"_{op.kind}")(op, data, f"op{index}")
                self.calls += call, f"  POCKETML_PROFILE_LAYER({index});"
        ctx = max(self.ctx_bytes, 4)
        return "\n".join([
            '#include "model.h"', '#include "arm_nnfunctions.h"', "",
            "#ifdef POCKETML_PROFILE", "void pocketml_profile_layer(int32_t op);",
            "#define POCKETML_PROFILE_LAYER(op) pocketml_profile_layer(op)", "#else",
            "#define POCKETML_PROFILE_LAYER(op)", "#endif", "", *self.arrays, *self.structs,
            f"static int8_t {p}_arena[{max(self.plan.arena_bytes, 4)}] __attribute__((aligned(4)));",
            f"static int32_t {p}_ctx_buf[{ctx // 4 + 1}];",
            f"static const cmsis_nn_context {p}_ctx = {{{p}_ctx_buf, {ctx}}};", "",
            f"int {p}_invoke(const int8_t *input, int8_t *output) {{", "  if (input == 0 || output == 0) {",
            "    return -1;", "  }", *self.calls, "  return 0;", "}", f"/* {P} */", ""])

    def _check(self, call: str) -> str:
        return f"  if ({call} != ARM_CMSIS_NN_SUCCESS) {{\n    return -2;\n  }}"

    def _conv_common(self, op, data, ident, channel_axis):
        rq = data.requant
        w = self.array("int8_t", f"{ident}_w", op.weight)
        b = self.array("int32_t", f"{ident}_b", op.bias)
        m = self.array("int32_t", f"{ident}_m", rq.multiplier)
        s = self.array("int32_t", f"{ident}_s", _shifts(rq))
        q = self.struct("cmsis_nn_per_channel_quant_params", f"{ident}_q", f"{{(int32_t *){m}, (int32_t *){s}}}")
        return rq, w, b, q

    def _conv2d(self, op, data, ident):
        (ih, iw, ic), (oh, ow, oc) = self.graph.tensors[op.inputs[0]].shape, self.graph.tensors[op.output].shape
        _, kh, kw, _ = op.weight.shape
        rq, w, b, q = self._conv_common(op, data, ident, 0)
        one_by_one = kh == kw == 1 and tuple(op.padding) == (0, 0) and tuple(op.dilation) == (1, 1)
        if not one_by_one:  # arm_convolve_s8 / 1_x_n: two im2col columns of int16 (the DSP build's size)
            self.ctx_bytes = max(self.ctx_bytes, 2 * (-(-kh * kw * ic // 4) * 4) * 2)
        params = self.struct("cmsis_nn_conv_params", f"{ident}_p",
                             f"{{{data.input_offset}, {rq.output_offset}, {{{op.stride[1]}, {op.stride[0]}}}, "
                             f"{{{op.padding[1]}, {op.padding[0]}}}, {{{op.dilation[1]}, {op.dilation[0]}}}, "
                             f"{{{rq.act_min}, {rq.act_max}}}}}")
        dims = [self.struct("cmsis_nn_dims", f"{ident}_{k}", v) for k, v in (
            ("in", _dims(1, ih, iw, ic)), ("f", _dims(oc, kh, kw, ic)), ("bd", _dims(1, 1, 1, oc)),
            ("out", _dims(1, oh, ow, oc)))]
        return self._check(f"arm_convolve_wrapper_s8(&{self.p}_ctx, {params}, {q}, {dims[0]}, "
                           f"{self.where(op.inputs[0])}, {dims[1]}, {w}, {dims[2]}, {b}, {dims[3]}, "
                           f"{self.where(op.output)})")

    def _depthwise_conv2d(self, op, data, ident):
        (ih, iw, ic), (oh, ow, oc) = self.graph.tensors[op.inputs[0]].shape, self.graph.tensors[op.output].shape
        _, kh, kw, _ = op.weight.shape
        rq, w, b, q = self._conv_common(op, data, ident, 3)
        fast3x3 = kh == kw == 3 and max(op.padding) <= 1
        if ic == oc and tuple(op.dilation) == (1, 1) and not fast3x3:  # arm_depthwise_conv_s8_opt
            self.ctx_bytes = max(self.ctx_bytes, ic * kh * kw * 2)
        params = self.struct("cmsis_nn_dw_conv_params", f"{ident}_p",
                             f"{{{data.input_offset}, {rq.output_offset}, {op.depth_multiplier}, "
                             f"{{{op.stride[1]}, {op.stride[0]}}}, {{{op.padding[1]}, {op.padding[0]}}}, "
                             f"{{{op.dilation[1]}, {op.dilation[0]}}}, {{{rq.act_min}, {rq.act_max}}}}}")
        dims = [self.struct("cmsis_nn_dims", f"{ident}_{k}", v) for k, v in (
            ("in", _dims(1, ih, iw, ic)), ("f", _dims(1, kh, kw, oc)), ("bd", _dims(1, 1, 1, oc)),
            ("out", _dims(1, oh, ow, oc)))]
        return self._check(f"arm_depthwise_conv_wrapper_s8(&{self.p}_ctx, {params}, {q}, {dims[0]}, "
                           f"{self.where(op.inputs[0])}, {dims[1]}, {w}, {dims[2]}, {b}, {dims[3]}, "
                           f"{self.where(op.output)})")

    def _fully_connected(self, op, data, ident):
        oc, depth = op.weight.shape
        rq = data.requant
        w = self.array("int8_t", f"{ident}_w", op.weight)
        b = self.array("int32_t", f"{ident}_b", op.bias)
        params = self.struct("cmsis_nn_fc_params", f"{ident}_p",
                             f"{{{data.input_offset}, 0, {rq.output_offset}, {{{rq.act_min}, {rq.act_max}}}}}")
        dims = [self.struct("cmsis_nn_dims", f"{ident}_{k}", v) for k, v in (
            ("in", _dims(1, 1, 1, depth)), ("f", _dims(depth, 1, 1, oc)), ("bd", _dims(1, 1, 1, oc)),
            ("out", _dims(1, 1, 1, oc)))]
        shifts = _shifts(rq)
        if len(set(np.asarray(rq.multiplier).tolist())) == 1 and len(set(shifts.tolist())) == 1:
            q = self.struct("cmsis_nn_per_tensor_quant_params", f"{ident}_q",
                            f"{{{int(rq.multiplier[0])}, {int(shifts[0])}}}")
            fn = "arm_fully_connected_s8"
        else:
            m = self.array("int32_t", f"{ident}_m", rq.multiplier)
            s = self.array("int32_t", f"{ident}_s", shifts)
            q = self.struct("cmsis_nn_per_channel_quant_params", f"{ident}_q", f"{{(int32_t *){m}, (int32_t *){s}}}")
            fn = "arm_fully_connected_per_channel_s8"
        return self._check(f"{fn}(&{self.p}_ctx, {params}, {q}, {dims[0]}, {self.where(op.inputs[0])}, "
                           f"{dims[1]}, {w}, {dims[2]}, {b}, {dims[3]}, {self.where(op.output)})")

    def _pool(self, op, data, ident, fn):
        (ih, iw, c), (oh, ow, _) = self.graph.tensors[op.inputs[0]].shape, self.graph.tensors[op.output].shape
        if fn == "arm_avgpool_s8":
            self.ctx_bytes = max(self.ctx_bytes, c * 4)
        params = self.struct("cmsis_nn_pool_params", f"{ident}_p",
                             f"{{{{{op.stride[1]}, {op.stride[0]}}}, {{{op.padding[1]}, {op.padding[0]}}}, "
                             f"{{{data.act_min}, {data.act_max}}}}}")
        dims = [self.struct("cmsis_nn_dims", f"{ident}_{k}", v) for k, v in (
            ("in", _dims(1, ih, iw, c)), ("f", _dims(1, op.kernel[0], op.kernel[1], 1)), ("out", _dims(1, oh, ow, c)))]
        return self._check(f"{fn}(&{self.p}_ctx, {params}, {dims[0]}, {self.where(op.inputs[0])}, {dims[1]}, "
                           f"{dims[2]}, {self.where(op.output)})")

    def _avg_pool2d(self, op, data, ident):
        return self._pool(op, data, ident, "arm_avgpool_s8")

    def _max_pool2d(self, op, data, ident):
        return self._pool(op, data, ident, "arm_max_pool_s8")

    def _add(self, op, data, ident):
        d = data
        size = self.graph.tensors[op.output].nbytes
        return self._check(
            f"arm_elementwise_add_s8({self.where(op.inputs[0])}, {self.where(op.inputs[1])}, {d.input1_offset}, "
            f"{d.input1_multiplier}, {-d.input1_right_shift}, {d.input2_offset}, {d.input2_multiplier}, "
            f"{-d.input2_right_shift}, 20, {self.where(op.output)}, {d.output_offset}, {d.output_multiplier}, "
            f"{-d.output_right_shift}, {d.act_min}, {d.act_max}, {size})")

    def _softmax(self, op, data, ident):
        shape = self.graph.tensors[op.inputs[0]].shape
        depth = shape[-1]
        rows = int(np.prod(shape)) // depth
        return (f"  arm_softmax_s8({self.where(op.inputs[0])}, {rows}, {depth}, {data.input_multiplier}, "
                f"{data.input_left_shift}, {data.diff_min}, {self.where(op.output)});")


# ---- building and running -----------------------------------------------------------------------------

@dataclass
class Build:
    """One build of one model: what QEMU measured."""

    name: str
    instructions: int
    layers: dict[int, int]      # op index -> instructions of one inference (the first input)
    cycles: int | None          # the cycle estimate of that inference (instruction mix x Cortex-M4 TRM costs)
    outputs: np.ndarray
    flash: int
    ram: int
    text: int


def run_build(name: str, c_dir: Path, x: np.ndarray, opt: str | None, core: str, work: Path, graph,
              wait_states: int | None, includes: tuple[Path, ...] = (), libraries: tuple[Path, ...] = ()) -> Build:
    build = build_cortexm(c_dir, core, work / "plain", opt=opt, include_dirs=includes, libraries=libraries)
    run = run_qemu(build, x)
    meta = [(op.name, op.kind, op.macs(graph.tensors)) for op in graph.ops]
    profile = profile_layers(c_dir, core, x[:1], meta, wait_states, opt=opt, include_dirs=includes,
                             libraries=libraries)
    layers = {p.index: p.instructions for p in profile}
    cycles = sum(p.cycles for p in profile) if profile and all(p.cycles is not None for p in profile) else None
    stack = int(run.stack_bytes.max())
    return Build(name, run.instructions_per_inference, layers, cycles, run.outputs, build.flash_bytes,
                 build.ram_bytes(stack), build.sections.get(".text", 0))


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        (folder / fname).write_text(text)
    return folder


def bench_model(path: Path, args, libs: dict[str, Path], tmp: Path) -> list[str]:
    t0 = time.perf_counter()
    imp = read_tflite(path)
    graph = imp.graph
    device = find_device(args.device)
    x = random_inputs(imp, args.samples, seed=0)
    ref = np.concatenate([graph.run_flat(x[i:i + 100]) for i in range(0, len(x), 100)])
    tflm = run_source_in_tflm(path, imp, x)
    plan = plan_memory(graph)
    work = tmp / path.stem
    dsp = has_dsp(device)
    ws = device.flash_wait_states
    few = x[:args.few_samples]
    builds = []
    for optimize in ("speed", "size") if dsp else ():
        target = KernelTarget(True, optimize)
        folder = write(work / target.label, emit_c(graph, plan, graph.name, kernels=target).files)
        builds.append(run_build(f"pocketml {target.label}", folder, x, None, device.core,
                                work / f"{target.label}-build", graph, ws))
    portable = write(work / "portable", emit_c(graph, plan, graph.name).files)
    builds.append(run_build("pocketml portable -Os", portable, few, "-Os", device.core, work / "portable-build",
                            graph, ws))
    cplan = plan_memory(graph, in_place=False)
    header = emit_c(graph, cplan, graph.name).files["model.h"]
    cmsis_dir = write(work / "cmsis", {"model.h": header,
                                       "model.c": CmsisModel(graph, cplan, c_identifier(graph.name)).source()})
    for opt, lib in libs.items():
        builds.append(run_build(f"CMSIS-NN {opt}", cmsis_dir, x, opt, device.core, work / f"cmsis{opt}", graph, ws,
                                includes=(args.cmsis_nn / "Include",), libraries=(lib,)))
    m0 = run_build("pocketml portable -Os on cortex-m0plus", portable, few, "-Os", "cortex-m0plus", work / "m0", graph,
                   None)
    m0.cycles = None  # the estimate's costs are the Cortex-M4's
    return report(path, graph, x, ref, tflm, builds, m0, device, time.perf_counter() - t0)


def _cell(instructions: int, macs: int) -> str:
    return f"{instructions:,}" + (f" ({instructions / macs:.2f}/MAC)" if macs else "")


def _mismatches(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.sum(np.any(a.reshape(len(a), -1) != b.reshape(len(b), -1), axis=1)))


def report(path, graph, x, ref, tflm, builds: list[Build], m0: Build, device, seconds: float) -> list[str]:
    ours = builds[0]
    o2 = next(b for b in builds if b.name == "CMSIS-NN -O2")
    lines = [f"### {path.name}: {graph.macs():,} MACs, {len(x)} random int8 inputs (seed 0), {seconds:.0f} s\n",
             f"Mismatching inputs: TFLite Micro (the source file) vs reference {_mismatches(tflm, ref)}/{len(x)}; "
             + "; ".join(f"{b.name} vs reference {_mismatches(b.outputs, ref[:len(b.outputs)])}/{len(b.outputs)}"
                         for b in builds)
             + f"; {ours.name} vs {o2.name} {_mismatches(ours.outputs, o2.outputs)}/{len(x)}.\n",
             "| build | instructions / inference | vs CMSIS-NN -O2 | cycles (estimate) | flash B | .text B | RAM B |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {b.name} | {b.instructions:,} | {b.instructions / o2.instructions:.2f}x | "
              f"{'-' if b.cycles is None else f'{b.cycles:,}'} | {b.flash:,} | {b.text:,} | {b.ram:,} |"
              for b in (*builds, m0)]
    shown = [b for b in builds if "portable" not in b.name]
    lines += ["", "| layer | op | MACs | " + " | ".join(b.name for b in shown) + f" | {ours.name} / CMSIS-NN -O2 |",
              "|---|---|---|" + "---|" * (len(shown) + 1)]
    worst = (0.0, "")
    for index, op in enumerate(graph.ops):
        if index not in ours.layers:
            continue
        macs = op.macs(graph.tensors)
        ratio = ours.layers[index] / max(1, o2.layers.get(index, 0))
        worst = max(worst, (ratio, op.name))
        cells = " | ".join(_cell(b.layers.get(index, 0), macs) for b in shown)
        lines.append(f"| {op.name} | {op.kind} | {macs:,} | {cells} | {ratio:.2f}x |")
    mhz = device.clock_mhz
    lines += ["", f"Worst layer of {ours.name}: {worst[1]}, {worst[0]:.2f}x CMSIS-NN -O2's instructions. "
              f"Estimated latency at {mhz:g} MHz (instructions / clock: one instruction per cycle, a lower bound, "
              "from a simulator): " + ", ".join(f"{b.name} {b.instructions / mhz / 1e3:.1f} ms" for b in builds)
              + f". The Cortex-M0+ (no DSP extension) runs the portable C: {m0.instructions:,} instructions, "
              f"{m0.instructions / ours.instructions:.1f}x {ours.name} on the M4.\n"]
    if "kws" in path.stem.lower():
        lines += [f"MLPerf Tiny keyword spotting on {device.name}, published latencies measured on silicon by the "
                  "submitters: " + ", ".join(f"{k} {v} ms" for k, v in MLPERF_KWS_L4R5ZI_MS.items())
                  + f". {ours.name}, estimates from a simulator: "
                  f"{ours.instructions / mhz / 1e3:.1f} ms at one instruction per cycle, "
                  + (f"{ours.cycles / mhz / 1e3:.1f} ms from the instruction mix (Cortex-M4 TRM cycle counts, "
                     "flash refills hitting the ART cache)" if ours.cycles else "no cycle estimate")
                  + (f"; CMSIS-NN -O2 the same way: {o2.cycles / mhz / 1e3:.1f} ms" if o2.cycles else "") + ".\n"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, help="folder of int8 .tflite files (e.g. the MLPerf Tiny models)")
    parser.add_argument("--cmsis-nn", type=Path, required=True, help="a checkout of ARM-software/CMSIS-NN")
    parser.add_argument("--samples", type=int, default=1000, help="random int8 inputs per model (default 1000)")
    parser.add_argument("--device", default="nucleo_l4r5zi", help="board id (default nucleo_l4r5zi)")
    parser.add_argument("--few-samples", type=int, default=10,
                        help="inputs for the slow builds: the portable C on the board's core and on the "
                             "Cortex-M0+ (default 10)")
    args = parser.parse_args()
    if not (args.cmsis_nn / "Include" / "arm_nnfunctions.h").is_file():
        sys.exit(f"{args.cmsis_nn} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h)")
    models = sorted(args.models.glob("*.tflite"))
    if not models:
        sys.exit(f"no .tflite files in {args.models}")
    device = find_device(args.device)
    print(f"## pocketml vs CMSIS-NN on {device.name} ({device.core})\n")
    print(f"Command: `nice .venv/bin/python bench/cmsis_nn.py {args.models.name}/ --cmsis-nn CMSIS-NN/ "
          f"--samples {args.samples} --few-samples {args.few_samples} --device {args.device}` "
          f"({time.strftime('%Y-%m-%d', time.gmtime())}; "
          "arm-none-eabi-gcc 12.2, QEMU 7.2 mps2-an386 -icount shift=0).\n", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="pocketml-cmsis-nn-"))
    try:
        libs = {opt: cmsis_library(args.cmsis_nn, opt, device.core, tmp / f"lib{opt}") for opt in ("-O2", "-Os")}
        for path in models:
            print("\n".join(bench_model(path, args, libs, tmp)), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
