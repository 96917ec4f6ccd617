"""Emit a quantized graph as dependency-free C99: one header a model, static memory only.

``OUT/c/`` gets:
    model.h           sizes, quantization of input/output, ``<prefix>_invoke`` (the public entry);
                      a model with several outputs also gets ``<prefix>_invoke_outputs(input,
                      output0, output1, ...)`` and ``<PREFIX>_OUTPUTk_BYTES/_OFFSET/_SCALE/_ZERO_POINT``
    model.c           weights as ``static const`` arrays (flash), one static arena, the op calls
    pocketml_*.h/.c   the runtime kernels the model uses (copied, one op per file)
    main.c            host harness: raw int8 inputs on stdin → raw int8 outputs on stdout
    Makefile          ``make -C OUT/c`` builds ``run_model`` with -std=c99 -Wall -Wextra -Werror -pedantic -O2

Generated files carry a banner and are never edited by hand; every symbol in model.c is prefixed
with the validated model name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from pocketml._version import __version__
from pocketml.deploy.c import kernel_params
from pocketml.deploy.c.dsp import PORTABLE, DspLayer, KernelTarget, dsp_layer
from pocketml.graph.ir import QuantGraph
from pocketml.graph.planner import MemoryPlan

RUNTIME_COMMON = ("pocketml_fixedpoint.h", "pocketml_ops.h", "pocketml_dot.h")
KERNEL_FILES = {"conv2d": "conv2d.c", "fully_connected": "fully_connected.c", "max_pool2d": "max_pool2d.c",
                **{kind: f"{kind}.c" for kind in kernel_params.KINDS}}
CFLAGS = "-std=c99 -Wall -Wextra -Werror -pedantic -O2"


@dataclass
class CSource:
    """The emitted C project: file name → text, and the exact bytes of constant data."""

    files: dict[str, str]
    prefix: str
    const_bytes: int
    const_arrays: dict[str, int] = field(default_factory=dict)  # array name -> bytes


def c_identifier(name: str) -> str:
    """A model name as a C prefix: lower case, [a-z0-9_], starting with a letter."""
    ident = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not re.match(r"[a-z]", ident):
        ident = "m_" + ident
    return ident


def emit_c(graph: QuantGraph, plan: MemoryPlan, name: str | None = None,
           weights: dict | None = None, *, kernels: KernelTarget = PORTABLE) -> CSource:
    """``weights``: op name → ``EncodedWeights`` for layers stored packed/sparse/Huffman (see weights.py).

    ``kernels``: the portable C (default, any compiler), or the kernels for cores with the DSP
    extension built for speed or size (``dsp.py``; they need an Arm compiler, ``<arm_acle.h>``).
    """
    from pocketml.deploy.c.weights import decoder_files, emit_encoded, scratch_bytes

    p = c_identifier(name or graph.name)
    weights = weights or {}
    dsp_layers: list[DspLayer] = []
    portable_kinds: set[str] = set()
    arrays: list[str] = []
    if weights:  # one decode buffer shared by every encoded layer (RAM, in .bss)
        arrays.append(f"static int8_t {p}_weight_scratch[{scratch_bytes(weights)}];")
    sizes: dict[str, int] = {}
    params: list[str] = []
    calls: list[str] = []

    def array(ctype: str, ident: str, values: np.ndarray) -> str:
        values = np.asarray(values).ravel()
        sym = f"{p}_{ident}"
        sizes[sym] = int(values.size * np.dtype(_NP[ctype]).itemsize)
        body = ",\n  ".join(
            ", ".join(str(int(v)) for v in values[i:i + 16]) for i in range(0, values.size, 16)
        )
        arrays.append(f"static const {ctype} {sym}[{values.size}] = {{\n  {body}\n}};")
        return sym

    out_pointer = output_pointers(graph)

    def where(tensor: str) -> str:
        buf = plan.buffer_of(tensor)
        if buf.location == "input":
            return "input"
        if buf.location == "output":  # the caller's buffer of the one graph output in this buffer
            return next(out_pointer[t] for t in buf.tensors if t in out_pointer)
        offset = plan.offset_of(tensor) if hasattr(plan, "offset_of") else buf.offset  # shifted in-place outputs
        return f"&{p}_arena[{offset}]"

    order = getattr(plan, "order", None) or range(len(graph.ops))  # the planner may reorder ops
    for index in order:
        op, data = graph.ops[index], graph.op_data[index]
        if op.kind == "reshape":
            calls.append(f"  /* {op.name}: RESHAPE, no data moves (output aliases input) */")
            continue
        mark = f"  POCKETML_PROFILE_LAYER({index});"  # the per-layer profile's timer (pocketml profile)
        ident = c_identifier(op.name)
        layer = dsp_layer(op, data, graph, ident, array, kernels, p) if op.name not in weights else None
        if layer is not None:  # the DSP kernel of this layer (dsp.py); its struct is counted as code
            dsp_layers.append(layer)
            params.extend(layer.definitions(f"{p}_{ident}", kernels.optimize))
            calls += [layer.call(f"{p}_{ident}", kernels.optimize, [where(t) for t in op.inputs],
                                 where(op.output), op.name), mark]
            continue
        portable_kinds.add(op.kind)
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
        if op.kind in ("conv2d", "fully_connected"):
            if op.name in weights:  # the kernel's layout (conv2d: HWIO), see kernel_params.stored_weights
                calls.append(emit_encoded(kernel_params.stored_encoding(weights[op.name], op), ident,
                                          f"{p}_weight_scratch", array))
                w = f"{p}_weight_scratch"
            else:
                w = array("int8_t", f"{ident}_weights", kernel_params.stored_weights(op))
            b = array("int32_t", f"{ident}_bias",  # bias + input_offset * sum(w): see kernel_params
                      kernel_params.folded_bias(op.weight, op.bias, data.input_offset, 0, op.name))
            rq = data.requant
            m = array("int32_t", f"{ident}_multiplier", rq.multiplier)
            ls = array("int8_t", f"{ident}_left_shift", rq.left_shift)
            rs = array("int8_t", f"{ident}_right_shift", rq.right_shift)
            rq_init = f"{{{m}, {ls}, {rs}, {rq.output_offset}, {rq.act_min}, {rq.act_max}}}"
        if op.kind == "conv2d":
            (ih, iw, ic), (oh, ow, oc) = x.shape, y.shape
            kh, kw = op.weight.shape[1:3]
            fields = (f"{ih}, {iw}, {ic}, {oh}, {ow}, {oc}, {kh}, {kw}, {op.stride[0]}, {op.stride[1]}, "
                      f"{op.padding[0]}, {op.padding[1]}, {op.dilation[0]}, {op.dilation[1]}, "
                      f"{data.input_offset}, {w}, {b}, {rq_init}")
        elif op.kind == "fully_connected":
            fields = f"{op.weight.shape[1]}, {op.weight.shape[0]}, {data.input_offset}, {w}, {b}, {rq_init}"
        elif op.kind == "max_pool2d":
            (ih, iw, ic), (oh, ow, _) = x.shape, y.shape
            fields = (f"{ih}, {iw}, {ic}, {oh}, {ow}, {op.kernel[0]}, {op.kernel[1]}, {op.stride[0]}, "
                      f"{op.stride[1]}, {op.padding[0]}, {op.padding[1]}, {data.act_min}, {data.act_max}")
        else:  # the ops with several inputs or no weights: see kernel_params.py
            fields = kernel_params.kernel_fields(op, data, graph, ident, array)
        params.append(f"static const pocketml_{op.kind}_params {p}_{ident} = {{{fields}}};")
        sizes[f"{p}_{ident}"] = 0  # a small struct; counted in the measured object sizes, not here
        calls += [kernel_params.kernel_call(op, f"{p}_{ident}", where), mark]

    kinds = sorted(k for k in portable_kinds if k in KERNEL_FILES)
    dsp_kinds = sorted({layer.kind for layer in dsp_layers})
    dsp_sources = [f"{k}.c" for k in dsp_kinds] if kernels.optimize == "size" else []
    arrays[:0] = _dsp_buffers(p, dsp_layers)
    decoders = decoder_files(weights)
    model_c = _model_c(graph, plan, p, arrays, params, calls)
    includes = ["pocketml_weights.h"] * bool(decoders) + [f"{k}.h" for k in dsp_kinds]
    if includes:
        model_c = model_c.replace('#include "pocketml_ops.h"', "\n".join(
            ['#include "pocketml_ops.h"', *(f'#include "{h}"' for h in includes)]), 1)
    files = {
        "model.h": _model_h(graph, plan, p).replace(f"#define {p.upper()}_ARENA_BYTES", (
            f'#define {p.upper()}_KERNELS "{kernels.label}"    /* portable C, or DSP kernels built for speed or size */'
            f"\n#define {p.upper()}_ARENA_BYTES"), 1),
        "model.c": model_c,
        "main.c": _main_c(p),
        "Makefile": _makefile([KERNEL_FILES[k] for k in kinds] + dsp_sources + decoders),
    }
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for fname in (*RUNTIME_COMMON, *(KERNEL_FILES[k] for k in kinds),
                  *(["pocketml_dsp.h", *(f"{k}.h" for k in dsp_kinds), *dsp_sources] if dsp_kinds else []),
                  *(["pocketml_weights.h", *decoders] if decoders else [])):
        files[fname] = (runtime / fname).read_text()
    const = {k: v for k, v in sizes.items() if v}
    return CSource(files, p, sum(const.values()), const)


def _dsp_buffers(p: str, layers: list[DspLayer]) -> list[str]:
    """The static buffers the DSP layers share (one layer runs at a time): widened operands, gathered fields."""
    lines = []
    words = max((layer.scratch_words for layer in layers), default=0)
    patch = max((layer.patch_bytes for layer in layers), default=0)
    if words:
        lines.append(f"static int32_t {p}_dsp_scratch[{words}];  /* operands widened to int16 pairs */")
    if patch:
        lines.append(f"static int8_t {p}_dsp_patch[{patch}];  /* receptive fields gathered as int8 */")
    return lines


_NP = {"int8_t": np.int8, "int32_t": np.int32, "uint8_t": np.uint8, "uint16_t": np.uint16}


def output_pointers(graph: QuantGraph) -> dict[str, str]:
    """Graph output tensor → the C parameter holding it: ``output`` (one output) or ``output0``..."""
    if len(graph.outputs) == 1:
        return {graph.outputs[0]: "output"}
    return {name: f"output{k}" for k, name in enumerate(graph.outputs)}


def _banner(what: str) -> str:
    return f"/* {what}\n * Generated by pocketml {__version__}. Do not edit: regenerate instead. */\n"


def _model_h(graph: QuantGraph, plan: MemoryPlan, p: str) -> str:
    if len(graph.outputs) > 1:
        return _model_h_outputs(graph, plan, p)
    i, o = graph.input_info, graph.output_info
    P = p.upper()
    return _banner(f"Model '{graph.name}': public interface.") + f"""#ifndef {P}_MODEL_H
#define {P}_MODEL_H

#include <stdint.h>

#define {P}_INPUT_BYTES {i.nbytes}    /* int8, shape {"x".join(map(str, i.shape))} (NHWC, batch 1) */
#define {P}_OUTPUT_BYTES {o.nbytes}   /* int8, shape {"x".join(map(str, o.shape))} */
#define {P}_ARENA_BYTES {plan.arena_bytes}    /* static working memory inside model.c */
/* real = scale * (q - zero_point) */
#define {P}_INPUT_SCALE {i.quant.scale!r}f
#define {P}_INPUT_ZERO_POINT {i.quant.zero_point}
#define {P}_OUTPUT_SCALE {o.quant.scale!r}f
#define {P}_OUTPUT_ZERO_POINT {o.quant.zero_point}

/* Run the model once. Returns 0 on success, -1 if a pointer is NULL.
 * `input` and `output` must not overlap; the call uses no heap and is not reentrant. */
int {p}_invoke(const int8_t *input, int8_t *output);

#endif /* {P}_MODEL_H */
"""


def _model_h_outputs(graph: QuantGraph, plan: MemoryPlan, p: str) -> str:
    """model.h of a model with several outputs: per-output macros, a per-output and a packed entry."""
    i = graph.input_info
    P = p.upper()
    lines = [f"#define {P}_INPUT_BYTES {i.nbytes}    /* int8, shape {'x'.join(map(str, i.shape))} (NHWC, batch 1) */",
             f"#define {P}_OUTPUTS {len(graph.outputs)}    /* outputs, in the source model's order */"]
    offset = 0
    for k, o in enumerate(graph.output_infos):
        lines += [f"#define {P}_OUTPUT{k}_BYTES {o.nbytes}   /* int8, shape {'x'.join(map(str, o.shape))} */",
                  f"#define {P}_OUTPUT{k}_OFFSET {offset}   /* where {p}_invoke puts it in `output` */",
                  f"#define {P}_OUTPUT{k}_SCALE {o.quant.scale!r}f",
                  f"#define {P}_OUTPUT{k}_ZERO_POINT {o.quant.zero_point}"]
        offset += o.nbytes
    params = ", ".join(f"int8_t *output{k}" for k in range(len(graph.outputs)))
    return _banner(f"Model '{graph.name}': public interface.") + f"""#ifndef {P}_MODEL_H
#define {P}_MODEL_H

#include <stdint.h>

/* real = scale * (q - zero_point) */
""" + "\n".join(lines) + f"""
#define {P}_OUTPUT_BYTES {offset}   /* every output, packed back to back in order ({p}_invoke) */
#define {P}_ARENA_BYTES {plan.arena_bytes}    /* static working memory inside model.c */
#define {P}_INPUT_SCALE {i.quant.scale!r}f
#define {P}_INPUT_ZERO_POINT {i.quant.zero_point}

/* Run the model once, output k into `outputk` ({P}_OUTPUTk_BYTES bytes each).
 * Returns 0 on success, -1 if a pointer is NULL. No buffer may overlap another; the call
 * uses no heap and is not reentrant. */
int {p}_invoke_outputs(const int8_t *input, {params});

/* The same, every output packed into one buffer of {P}_OUTPUT_BYTES: output k starts at
 * `output + {P}_OUTPUTk_OFFSET` (the signature of a one-output model's {p}_invoke). */
int {p}_invoke(const int8_t *input, int8_t *output);

#endif /* {P}_MODEL_H */
"""


def _model_c(graph, plan, p, arrays, params, calls) -> str:
    P = p.upper()
    n_out = len(graph.outputs)
    if n_out == 1:
        entry = [f"int {p}_invoke(const int8_t *input, int8_t *output) {{",
                 "  if (input == 0 || output == 0) {", "    return -1;", "  }"]
        packed = []
    else:
        outs = [f"output{k}" for k in range(n_out)]
        entry = [f"int {p}_invoke_outputs(const int8_t *input, {', '.join('int8_t *' + o for o in outs)}) {{",
                 f"  if (input == 0 || {' || '.join(o + ' == 0' for o in outs)}) {{", "    return -1;", "  }"]
        packed = [f"int {p}_invoke(const int8_t *input, int8_t *output) {{",
                  "  if (output == 0) {", "    return -1;", "  }",
                  f"  return {p}_invoke_outputs(input, "
                  + ", ".join(f"output + {P}_OUTPUT{k}_OFFSET" for k in range(n_out)) + ");", "}", ""]
    lines = [_banner(f"Model '{graph.name}': weights, memory plan and op sequence."),
             '#include "model.h"', '#include "pocketml_ops.h"', "",
             "#ifdef POCKETML_PROFILE  /* pocketml profile: the QEMU harness times every layer */",
             "void pocketml_profile_layer(int32_t op);",
             "#define POCKETML_PROFILE_LAYER(op) pocketml_profile_layer(op)",
             "#else", "#define POCKETML_PROFILE_LAYER(op)", "#endif", "",
             "/* Weights and constants: static const, so they stay in flash. */",
             *arrays, "", "/* Op parameters (all computed at conversion time). */", *params, "",
             *(["/* One arena for every intermediate tensor; offsets come from the static memory plan. */",
                f"static int8_t {p}_arena[{P}_ARENA_BYTES];", ""] if plan.arena_bytes else
               ["/* No arena: the only tensors are the caller's input and output. */", ""]),
             *entry, *calls, "  return 0;", "}", "", *packed]
    return "\n".join(lines)


def _main_c(p: str) -> str:
    P = p.upper()
    return _banner("Host harness: raw int8 inputs on stdin, raw int8 outputs on stdout.") + f"""#include <stdio.h>

#include "model.h"

int main(void) {{
  static int8_t input[{P}_INPUT_BYTES];
  static int8_t output[{P}_OUTPUT_BYTES];
  while (fread(input, 1, sizeof input, stdin) == sizeof input) {{
    if ({p}_invoke(input, output) != 0) {{
      return 2;
    }}
    if (fwrite(output, 1, sizeof output, stdout) != sizeof output) {{
      return 3;
    }}
  }}
  return ferror(stdin) ? 4 : 0;
}}
"""


def _makefile(kernels: list[str]) -> str:
    srcs = " ".join(["main.c", "model.c", *kernels])
    return f"""# Generated by pocketml {__version__}: builds the host harness run_model.
CC ?= cc
CFLAGS ?= {CFLAGS}
SRCS = {srcs}

run_model: $(SRCS) $(wildcard *.h)
\t$(CC) $(CFLAGS) -o $@ $(SRCS) $(LDFLAGS)

clean:
\trm -f run_model

.PHONY: clean
"""
