"""Emit the on-device training step of a :class:`~pocketml.graph.training.TrainPlan` as C.

``OUT/c/`` gains (beside model.c, which stays the verified int8 inference model):

    train.h            ``<m>_train_step``, ``<m>_predict``, ``<m>_weights_export`` / ``_import`` and sizes
    train.c            the int8 forward pass (the deployed kernels, their parameters from each op
                       folder's ``c_params``; with ``kernels`` for a core with the DSP extension,
                       the layers the backward chain does not walk run the DSP kernels, as model.c
                       does: docs/dsp.md), the float32 classifier, the backward chain and the
                       updates; the trainable part in RAM, everything else ``static const``; one
                       static arena laid out by the training plan
    pocketml_train.c/.h  the float32 arithmetic (``deploy/c/runtime``), the twin of graph/training.py

A firmware that learns links train.c, pocketml_train.c and the kernels instead of model.c (or
beside it: every train.c symbol is prefixed ``<m>_train_``, the entry points ``<m>_``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from pocketml._version import __version__
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
from pocketml.deploy.c.emit import DSP_BUFFERS, DSP_RUNTIME, RUNTIME_COMMON, c_identifier, kernel_files
from pocketml.errors import PocketMLError
from pocketml.graph.backward import mask_range
from pocketml.graph.subgraph import alias_root
from pocketml.graph.training import TrainPlan
from pocketml.ops.c import CTYPE_DTYPE, format_value
from pocketml.ops.registry import SPECS

TRAIN_RUNTIME = ("pocketml_train.c", "pocketml_train.h")


@dataclass(frozen=True)
class TrainSource:
    """The training step's C files (name → text), its prefix and the sources to compile with it."""

    files: dict[str, str]
    prefix: str
    sources: tuple[str, ...]  # .c files of the training program (no harness)
    const_bytes: int
    kernels: str = "portable"  # KernelTarget.label of the frozen forward's kernels


def c_float(v: float) -> str:
    """A float32 value as an exact C99 hexadecimal literal (``0x1.8p-3f``)."""
    return f"{float(np.float32(v)).hex()}f"


class _Arrays:
    """The arrays train.c declares: constants in flash, the trainable part in RAM."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lines: list[str] = []
        self.const_bytes = 0

    def const(self, ctype: str, ident: str, values) -> str:
        return self._declare(f"static const {ctype}", ctype, ident, values)

    def ram(self, ctype: str, ident: str, values) -> str:
        return self._declare(f"static {ctype}", ctype, ident, values, const=False)

    def _declare(self, storage: str, ctype: str, ident: str, values, const: bool = True) -> str:
        values = np.asarray(values).ravel()
        sym = f"{self.prefix}_{ident}"
        fmt = c_float if ctype == "float" else (lambda v: str(int(v)))
        if const:
            self.const_bytes += int(values.size) * (4 if ctype == "float" else np.dtype(CTYPE_DTYPE[ctype]).itemsize)
        body = ",\n  ".join(", ".join(fmt(v) for v in values[i:i + 12]) for i in range(0, values.size, 12))
        self.lines.append(f"{storage} {sym}[{values.size}] = {{\n  {body}\n}};")
        return sym


class _Context:
    """The :class:`~pocketml.ops.c.CContext` of one forward op in train.c."""

    def __init__(self, emitter: _TrainEmitter, op, ident: str, trained_bias: bool) -> None:
        self.emitter, self.op, self.ident, self.trained_bias = emitter, op, ident, trained_bias
        self.tensors = emitter.plan.graph.tensors
        self.bias_symbol: str | None = None
        self.scratch_limit: int | None = None  # the step's kernels keep their own scratch (no RAM plan)
        self.lean = False

    def array(self, ctype: str, ident: str, values: np.ndarray) -> str:
        if self.trained_bias and ident == "bias":  # the folded bias the kernel reads: RAM, it trains
            self.bias_symbol = self.emitter.arrays.ram(ctype, f"{self.ident}_bias", values)
            self.emitter.folded[self.op.name] = np.asarray(values, np.int64)
            return self.bias_symbol
        return self.emitter.arrays.const(ctype, f"{self.ident}_{ident}", values)

    def weights(self, op, stored: np.ndarray) -> str:
        sym = self.emitter.arrays.const("int8_t", f"{self.ident}_weights", stored)
        self.emitter.weights[op.name] = (sym, np.asarray(stored))
        return sym

    def where(self, tensor: str) -> str:
        return self.emitter.where(tensor)

    def scratch(self, ctype: str, count: int) -> str:
        """A static buffer every DSP layer shares (RAM, in .bss), as in model.c."""
        return self.emitter.scratch(ctype, count)

    def state(self, ctype: str, ident: str, count: int, fill: int) -> str:
        """State kept between calls (an LSTM's, SVDF's memory): the training step has no place for it yet."""
        raise PocketMLError(f"{self.op.name} ({self.op.kind}) keeps state between calls; the on-device training "
                            "step cannot run it", "train on-device only models without an LSTM or SVDF (shrink without "
                            "--trainable deploys it)")


class _TrainEmitter:
    def __init__(self, plan: TrainPlan, prefix: str, kernels: KernelTarget = PORTABLE) -> None:
        self.plan, self.p, self.kernels = plan, prefix, kernels
        self.arrays = _Arrays(f"{prefix}_train")
        self.weights: dict[str, tuple[str, np.ndarray]] = {}  # op name -> (symbol, stored layout)
        self.folded: dict[str, np.ndarray] = {}
        self.params: list[str] = []
        self.buffers: dict[str, int] = {}  # DSP scratch: C type -> elements (the largest request)
        self.portable_kinds: set[str] = set()
        self.dsp_kinds: set[str] = set()

    def scratch(self, ctype: str, count: int) -> str:
        self.buffers[ctype] = max(self.buffers.get(ctype, 0), int(count))
        return f"{self.p}_train_{DSP_BUFFERS[ctype]}"

    def buffer_declarations(self) -> list[str]:
        return [f"static {ctype} {self.p}_train_{DSP_BUFFERS[ctype]}[{count}];  /* shared by the DSP layers */"
                for ctype, count in sorted(self.buffers.items())]

    def where(self, tensor: str) -> str:
        graph = self.plan.graph
        root = alias_root(graph, tensor)
        if root == graph.input:
            return "input"
        return f"((int8_t *){self.p}_train_arena + {self.plan.memory.offsets[tensor]})"

    def grad(self, tensor: str) -> str:
        offset = self.plan.memory.offsets["grad:" + alias_root(self.plan.graph, tensor)]
        return f"({self.p}_train_arena + {offset // 4})"

    def struct(self, ctype: str, ident: str, fields) -> str:
        sym = f"{self.p}_train_{ident}"
        body = ",\n    ".join(f".{k} = {format_value(v)}" for k, v in fields)
        self.params.append(f"static const {ctype} {sym} = {{\n    {body}\n}};")
        return sym

    # ---- the int8 forward pass ------------------------------------------------------------
    def forward(self) -> list[str]:
        plan = self.plan
        trained = {plan.graph.ops[b.index].name for b in plan.bias_layers}
        walked = {s.index for s in plan.chain}  # the backward reads their weights and folded biases as stored
        lines = []
        for i in plan.forward:
            op, data = plan.graph.ops[i], plan.prepared(i)
            spec = SPECS[op.kind]
            ident = c_identifier(op.name)
            if spec.c_kernel is None:
                lines.append(f"  /* {ident}: no data moves (output aliases input) */")
                continue
            ctx = _Context(self, op, ident, op.name in trained)
            if self.kernels.dsp and spec.dsp_params is not None and i not in walked:
                call = spec.dsp_params(op, data, ctx, self.kernels.wide)
                if call is not None:
                    lines.append(self.dsp_call(op, call, ident))
                    continue
            self.portable_kinds.add(op.kind)
            call = spec.c_params(op, data, ctx)
            if op.name in trained and ctx.bias_symbol is None:
                raise PocketMLError(f"{op.name}: its C parameters declare no bias array to train",
                                    "this is a pocketml bug: please report it")
            sym = self.struct(f"pocketml_{op.kind}_params", ident, call.fields)
            args = call.args if call.args is not None else (*(self.where(t) for t in op.inputs), self.where(op.output))
            lines.append(f"  pocketml_{op.kind}(&{sym}, {', '.join(args)});  /* {ident} */")
        return lines

    def dsp_call(self, op, call, ident: str) -> str:
        """A frozen layer on the DSP kernel (model.c's choice: inlined for speed, the shared copy for size)."""
        self.dsp_kinds.add(op.kind)
        sym = self.struct(f"pocketml_{op.kind}_dsp_params", ident, call.fields)
        args = ", ".join((*(self.where(t) for t in op.inputs), self.where(op.output)))
        if self.kernels.optimize == "speed":
            ins = ", ".join(f"const int8_t *input{k}" for k in range(len(op.inputs)))
            names = ", ".join(f"input{k}" for k in range(len(op.inputs)))
            self.params.append(f"static __attribute__((noinline)) void {sym}_run({ins}, int8_t *output) {{\n"
                               f"  pocketml_{op.kind}_dsp_body(&{sym}, 1, {names}, output);\n}}")
            return f"  {sym}_run({args});  /* {ident} (DSP) */"
        return f"  pocketml_{op.kind}_dsp(&{sym}, {args});  /* {ident} (DSP) */"

    # ---- the training step ----------------------------------------------------------------
    def head(self) -> tuple[str, str, str]:
        h = self.plan.head
        storage = self.arrays.ram if h.train_weight else self.arrays.const
        w = storage("float", "head_w", h.weight)
        b = self.arrays.ram("float", "head_b", h.bias)
        params = self.struct("pocketml_train_head_params", "head", (
            ("depth", h.depth), ("classes", h.classes), ("input_zero_point", h.input_zero_point),
            ("input_scale", c_float(h.input_scale))))
        return w, b, params

    def step_lines(self, w: str, b: str, head: str) -> list[str]:
        plan = self.plan
        h = plan.head
        z = f"({self.p}_train_arena + {plan.memory.offsets['logits'] // 4})"
        feats = self.where(h.input)
        lines = ["  float *const z = " + z + ";", f"  {self.p}_train_forward(input);",
                 f"  pocketml_train_head_forward(&{head}, {w}, {b}, {feats}, z);",
                 "  pocketml_train_softmax_grad(z, " + str(h.classes) + ", (int32_t)label);"]
        if plan.chain:
            lines.append(f"  pocketml_train_head_backward(&{head}, {w}, z, {self.grad(h.input)});")
        lines.append(f"  pocketml_train_head_update(&{head}, {feats}, z, lr, {w if h.train_weight else '0'}, {b});")
        for s in plan.chain:
            lines.extend(self.backward_step(s))
        return lines

    def backward_step(self, s) -> list[str]:
        plan, graph = self.plan, self.plan.graph
        op = graph.ops[s.index]
        ident = c_identifier(op.name)
        g_out = self.grad(op.output)
        lines = [f"  /* backward {ident} ({s.rule.name}) */"]
        if s.mask:
            lo, hi = mask_range(plan.prepared(s.index))
            n = graph.tensors[op.output].nbytes
            lines.append(f"  pocketml_train_mask({g_out}, {self.where(op.output)}, {n}, {lo}, {hi});")
        if s.bias is not None:
            lines.append(self.bias_update(s, g_out))
        if s.grad_in and not s.rule.alias:
            lines.append(self.backward_input(s, op, ident, g_out))
        return lines

    def bias_update(self, s, g_out: str) -> str:
        layer = self.plan.bias_layers[s.bias]
        op = self.plan.graph.ops[s.index]
        ident = c_identifier(op.name)
        folded = self.folded[op.name]
        if not np.array_equal(folded, layer.initial.astype(np.int64) + layer.fold):
            raise PocketMLError(f"{op.name}: the kernel's folded bias is not bias + input_offset·Σw",
                                "this is a pocketml bug: please report it")
        params = self.struct("pocketml_train_bias_params", f"{ident}_bias_update", (
            ("pixels", layer.pixels), ("channels", layer.channels),
            ("inv_scale", self.arrays.const("float", f"{ident}_inv_scale", layer.inv_scale)),
            ("fold", self.arrays.const("int32_t", f"{ident}_fold", layer.fold)),
            ("lo", self.arrays.const("int32_t", f"{ident}_lo", layer.lo)),
            ("hi", self.arrays.const("int32_t", f"{ident}_hi", layer.hi))))
        return f"  pocketml_train_bias_update(&{params}, {g_out}, lr, {self.p}_train_{ident}_bias);"

    def backward_input(self, s, op, ident: str, g_out: str) -> str:
        tensors = self.plan.graph.tensors
        g_in = self.grad(op.inputs[0])
        x_shape, y_shape = tensors[op.inputs[0]].shape, tensors[op.output].shape
        if s.rule.name == "mean":
            h, w, c = x_shape
            return f"  pocketml_train_mean_backward({g_out}, {h * w}, {c}, {c_float(1.0 / (h * w))}, {g_in});"
        if s.rule.name == "max_pool":
            (ih, iw, c), (oh, ow, _) = x_shape, y_shape
            params = self.struct("pocketml_train_pool_params", f"{ident}_backward", (
                ("in_h", ih), ("in_w", iw), ("out_h", oh), ("out_w", ow), ("channels", c),
                ("k_h", op.kernel[0]), ("k_w", op.kernel[1]), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                ("pad_top", op.padding[0]), ("pad_left", op.padding[1])))
            return f"  pocketml_train_max_pool_backward(&{params}, {self.where(op.inputs[0])}, {g_out}, {g_in});"
        if s.rule.name in ("conv", "dense", "depthwise"):
            return f"  pocketml_train_conv_backward(&{self.conv_params(s, op, ident)}, {g_out}, {g_in});"
        n = tensors[op.inputs[0]].nbytes  # relu: the mask was its whole backward; the gradient passes on
        return f"  memcpy({g_in}, {g_out}, {n} * sizeof(float));"

    def conv_params(self, s, op, ident: str) -> str:
        tensors = self.plan.graph.tensors
        sym, stored = self.weights[op.name]
        x_shape, y_shape = tensors[op.inputs[0]].shape, tensors[op.output].shape
        if s.rule.name == "dense":
            (ih, iw, ic), (oh, ow, oc), (kh, kw) = (1, 1, x_shape[0]), (1, 1, y_shape[0]), (1, 1)
            stride, pad, dil = (1, 1), (0, 0), (1, 1)
        else:
            (ih, iw, ic), (oh, ow, oc), (kh, kw) = x_shape, y_shape, op.weight.shape[1:3]
            stride, pad, dil = op.stride, op.padding, op.dilation
        depthwise = int(s.rule.name == "depthwise")
        ohwi = op.weight.reshape(oc, kh, kw, -1)
        if depthwise or (stored.shape == op.weight.shape and np.array_equal(stored, op.weight)):
            co_stride, tap_stride = (1 if depthwise else ohwi[0].size), 1
        elif np.array_equal(stored, np.transpose(ohwi, (1, 2, 3, 0))):
            co_stride, tap_stride = 1, oc
        else:
            raise PocketMLError(f"{op.name}: its C weights are in a layout the backward does not know",
                                "this is a pocketml bug: please report it")
        scale = self.arrays.const("float", f"{ident}_weight_scale", np.asarray(op.weight_scale, np.float32))
        return self.struct("pocketml_train_conv_params", f"{ident}_backward", (
            ("in_h", ih), ("in_w", iw), ("in_c", ic), ("out_h", oh), ("out_w", ow), ("out_c", oc),
            ("k_h", kh), ("k_w", kw), ("stride_h", stride[0]), ("stride_w", stride[1]),
            ("pad_top", pad[0]), ("pad_left", pad[1]), ("dilation_h", dil[0]), ("dilation_w", dil[1]),
            ("depthwise", depthwise), ("co_stride", co_stride), ("tap_stride", tap_stride),
            ("weights", sym), ("weight_scale", scale)))


def emit_train(plan: TrainPlan, name: str | None = None, *, kernels: KernelTarget = PORTABLE) -> TrainSource:
    """The C of ``plan``'s training step (train.c, train.h, the float32 runtime and the kernels it calls).

    ``kernels``: the portable C (default: any compiler, checked on the host), or for a core with the
    DSP extension the DSP kernels for the frozen layers the backward chain does not walk (they need
    an Arm compiler: checked in QEMU); the walked layers keep the portable kernels either way.
    """
    p = c_identifier(name or plan.graph.name)
    em = _TrainEmitter(plan, p, kernels)
    forward = em.forward()
    w, b, head = em.head()
    step = em.step_lines(w, b, head)
    kinds, dsp_kinds = sorted(em.portable_kinds), sorted(em.dsp_kinds)
    dsp_sources = [SPECS[k].dsp_kernel for k in dsp_kinds] if kernels.optimize == "size" else []
    headers = [*(f"{k}.h" for k in kinds), *(f"{k}_dsp.h" for k in dsp_kinds)]
    label = kernels.label if dsp_kinds else "portable"
    files = {"train.h": _train_h(plan, p, label),
             "train.c": _train_c(plan, p, em, forward, step, w, b, head, headers)}
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for fname in (*RUNTIME_COMMON, *([DSP_RUNTIME] if dsp_kinds else []), *TRAIN_RUNTIME):
        files[fname] = (runtime / fname).read_text()
    files.update(kernel_files(kinds, dsp_kinds, kernels.optimize))
    sources = ("train.c", "pocketml_train.c", *(SPECS[k].c_kernel for k in kinds), *dsp_sources)
    return TrainSource(files, p, sources, em.arrays.const_bytes, label)


def _banner(what: str) -> str:
    return f"/* {what}\n * Generated by pocketml {__version__}. Do not edit: regenerate instead. */\n"


def _train_h(plan: TrainPlan, p: str, kernels: str = "portable") -> str:
    P = p.upper()
    h = plan.head
    layers = ", ".join(b.name for b in plan.bias_layers) or "no body layer"
    what = {"last": "the classifier's float32 weights and bias",
            "bias": f"the classifier's float32 bias and the int32 biases of {layers}",
            "last+bias": f"the classifier (float32) and the int32 biases of {layers}"}[plan.trainable]
    return (_banner(f"Model {p}: on-device training step (trainable: {plan.trainable}).")
            + f"#ifndef {P}_TRAIN_H\n#define {P}_TRAIN_H\n\n#include <stdint.h>\n\n"
            + "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
            + f"#define {P}_TRAIN_INPUT_BYTES ({plan.graph.input_info.nbytes})   /* int8 NHWC, as {p}_invoke */\n"
            + f'#define {P}_TRAIN_KERNELS "{kernels}"   /* the frozen layers: portable C or DSP kernels */\n'
            + f"#define {P}_CLASSES ({h.classes})\n"
            + f"#define {P}_TRAINABLE_FLOATS ({plan.trainable_floats})   /* {what} */\n"
            + f"#define {P}_TRAIN_ARENA_BYTES ({plan.memory.arena_bytes})"
            + "   /* forward pass, kept tensors, gradients */\n\n"
            + "/* One SGD step on one labelled int8 sample (batch 1): the float32 classifier and the trained biases\n"
            + " * change in RAM. Returns 0, or -1 for a NULL input, a label outside [0, CLASSES) or a non-finite lr.\n"
            + " * No heap; not reentrant (one static arena). */\n"
            + f"int {p}_train_step(const int8_t *input, int label, float lr);\n\n"
            + "/* Inference with the trained part: the class (argmax), and the float32 logits if `logits` is not NULL\n"
            + f" * ({P}_CLASSES floats). Returns -1 for a NULL input. */\n"
            + f"int {p}_predict(const int8_t *input, float *logits);\n\n"
            + f"/* The trainable part as {P}_TRAINABLE_FLOATS float32 values (int32 biases as whole numbers), in the\n"
            + " * order of pocketml's TrainPlan.array_names(); import rounds the biases and keeps them in range.\n"
            + " * Both return 0, or -1 for a NULL pointer. */\n"
            + f"int {p}_weights_export(float *values);\nint {p}_weights_import(const float *values);\n\n"
            + f"#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {P}_TRAIN_H */\n")


def _io_lines(plan: TrainPlan, p: str, w: str, b: str, export: bool) -> list[str]:
    """The body of weights_export (values out) or weights_import (values in)."""
    h = plan.head
    lines = ["  int32_t k = 0;"]
    parts = ([(w, h.classes * h.depth)] if h.train_weight else []) + [(b, h.classes)]
    for sym, n in parts:
        lines.append(f"  for (int32_t i = 0; i < {n}; ++i) {{")
        lines.append(f"    values[k++] = {sym}[i];" if export else f"    {sym}[i] = values[k++];")
        lines.append("  }")
    for layer in plan.bias_layers:
        ident = c_identifier(layer.name)
        bias, fold = f"{p}_train_{ident}_bias", f"{p}_train_{ident}_fold"
        lines.append(f"  for (int32_t c = 0; c < {layer.channels}; ++c) {{")
        if export:
            lines.append(f"    values[k++] = (float)({bias}[c] - {fold}[c]);")
        else:
            lines.append(f"    {bias}[c] = pocketml_train_round_bias(values[k++], {p}_train_{ident}_lo[c], "
                         f"{p}_train_{ident}_hi[c]) + {fold}[c];")
        lines.append("  }")
    return lines


def _train_c(plan: TrainPlan, p: str, em: _TrainEmitter, forward: list[str], step: list[str], w: str, b: str,
             head: str, headers: list[str]) -> str:
    P = p.upper()
    h = plan.head
    words = (plan.memory.arena_bytes + 3) // 4
    feats = em.where(h.input)
    lines = [_banner(f"Model {p}: on-device training step, {plan.trainable} (pocketml/graph/training.py)."),
             "#include <string.h>", "", "#include \"train.h\"", *(f"#include \"{h}\"" for h in headers),
             "#include \"pocketml_train.h\"", "",
             "/* Constants (flash) and the trainable part (RAM: the float32 classifier, the folded int32 biases). */",
             *em.buffer_declarations(), *em.arrays.lines, "", "/* Parameters, all computed at conversion time. */",
             *em.params, "",
             "/* One arena: forward tensors, the int8 tensors kept for the backward pass, logits and gradients,",
             " * at the offsets of the training memory plan (float for alignment; int8 tensors are byte views). */",
             f"static float {p}_train_arena[{words}];", "",
             f"static void {p}_train_forward(const int8_t *input) {{", *forward, "}", "",
             f"int {p}_train_step(const int8_t *input, int label, float lr) {{",
             f"  if (input == 0 || label < 0 || label >= {P}_CLASSES || !(lr - lr == 0.0f)) {{",
             "    return -1;", "  }",
             *step, "  return 0;", "}", "",
             f"int {p}_predict(const int8_t *input, float *logits) {{", "  if (input == 0) {", "    return -1;", "  }",
             f"  float *const z = logits != 0 ? logits : ({p}_train_arena + {plan.memory.offsets['logits'] // 4});",
             f"  {p}_train_forward(input);", f"  pocketml_train_head_forward(&{head}, {w}, {b}, {feats}, z);",
             "  int best = 0;", f"  for (int c = 1; c < {P}_CLASSES; ++c) {{", "    if (z[c] > z[best]) {",
             "      best = c;", "    }", "  }", "  return best;", "}", "",
             f"int {p}_weights_export(float *values) {{", "  if (values == 0) {", "    return -1;", "  }",
             *_io_lines(plan, p, w, b, export=True), "  return 0;", "}", "",
             f"int {p}_weights_import(const float *values) {{", "  if (values == 0) {", "    return -1;", "  }",
             *_io_lines(plan, p, w, b, export=False), "  return 0;", "}", ""]
    return "\n".join(lines)
