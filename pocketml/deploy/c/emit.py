"""Emit a quantized graph as dependency-free C99: one header a model, static memory only.

``OUT/c/`` gets:
    model.h           sizes, quantization of input/output, ``<prefix>_invoke`` (the public entry);
                      a model with several outputs also gets ``<prefix>_invoke_outputs(input,
                      output0, output1, ...)`` and ``<PREFIX>_OUTPUTk_BYTES/_OFFSET/_SCALE/_ZERO_POINT``
    model.c           weights as ``static const`` arrays (flash), one static arena, the op calls
    <kind>.c/.h       the kernels the model uses, copied from their op folders (``pocketml/ops/<kind>/``);
                      for a core with the DSP extension (``kernels=``), ``<kind>_dsp.h`` (+ ``.c`` built for
                      size) where the op has one and the layer's constants allow it (``docs/dsp.md``)
    pocketml_*.h/.c   the shared runtime: fixed-point helpers, requantization, weight decoders
    main.c            host harness: raw int8 inputs on stdin → raw int8 outputs on stdout
    Makefile          ``make -C OUT/c`` builds ``run_model`` with -std=c99 -Wall -Wextra -Werror -pedantic -O2

Generated files carry a banner and are never edited by hand. Every symbol model.c defines is
prefixed with the model's name, made a C identifier by :func:`c_identifier` (the only place a
user-supplied name becomes C); the kernels are shared by every model in a firmware and live in the
documented ``pocketml_`` namespace. Each op's parameter struct is written with designated
initialisers (``.in_h = 8``) from its folder's ``c.py``; the emitter itself never looks at an op's
kind beyond asking the registry for its spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from pocketml._version import __version__
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
from pocketml.errors import PocketMLError
from pocketml.graph.ir import PER_INFERENCE, QuantGraph
from pocketml.graph.patch import PatchMap, PatchStage
from pocketml.graph.planner import KernelNeeds, MemoryPlan, sharing
from pocketml.ops.c import CTYPE_DTYPE, CCall, format_value, shared_array_key
from pocketml.ops.registry import SPECS, kernel_source

RUNTIME_COMMON = ("pocketml_fixedpoint.h", "pocketml_requant.h", "pocketml_dot.h", "pocketml_broadcast.h",
                  "pocketml_window.h", "pocketml_sigmoid16.h")
DSP_RUNTIME = "pocketml_dsp.h"  # what the DSP kernels share (requantization, widening, LDRD)
PATCH_RUNTIME = "pocketml_patch.h"  # patch-based execution: loading, bordering and storing patches
DSP_BUFFERS = {"int32_t": "dsp_scratch", "int8_t": "dsp_patch"}  # shared by every DSP layer, one at a time
CFLAGS = "-std=c99 -Wall -Wextra -Werror -pedantic -O2"
MAX_NAME = 64
@dataclass
class CSource:
    """The emitted C project: file name → text, and the exact bytes of constant data."""

    files: dict[str, str]
    prefix: str
    const_bytes: int
    const_arrays: dict[str, int] = field(default_factory=dict)  # array name -> bytes
    state_bytes: int = 0  # RAM of the ops' persistent state (static arrays outside the arena; <prefix>_reset)


def c_identifier(name: str) -> str:
    """A model or layer name as a C identifier: lower case, ``[a-z0-9_]``, not starting with a digit.

    Characters outside ``[A-Za-z0-9_]`` become ``_``; a name that starts with a digit or ``_``
    gets ``m_`` in front. A name with no letter or digit, or longer than 64 characters, is refused:
    it could not name anything a reader would recognise. Nothing else of a user's name reaches
    the generated C (comments show this identifier, never the raw name).
    """
    if not isinstance(name, str) or not re.search(r"[A-Za-z0-9]", name) or len(name) > MAX_NAME:
        raise PocketMLError(f"the name {name!r} cannot become a C identifier",
                            f"name the model with letters, digits and '_' (at most {MAX_NAME} characters), "
                            "e.g. name='kws_model'")
    ident = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not re.match(r"[a-z]", ident):
        ident = "m_" + ident
    return ident


class _OpContext:
    """The :class:`~pocketml.ops.c.CContext` one op's builder sees: arrays prefixed ``<p>_<op>_``."""

    def __init__(self, emitter: _Emitter, op, ident: str) -> None:
        self.emitter, self.op, self.ident = emitter, op, ident
        self.tensors = emitter.graph.tensors
        self.scratch_limit = emitter.scratch_limit  # bytes a kernel's scratch should stay under (None: any)
        self.lean = op.name in emitter.plan.lean_ops  # the plan runs its kernel's scratch-free variant
        self.before: list[str] = []  # calls that must run before the kernel (weight decoders)

    def array(self, ctype: str, ident: str, values: np.ndarray) -> str:
        return self.emitter.array(ctype, f"{self.ident}_{ident}", values)

    def weights(self, op, stored: np.ndarray) -> str:
        enc = self.emitter.encoded.get(op.name)
        if enc is None:
            return self.array("int8_t", "weights", stored)
        from pocketml.compress.encoding import encode
        from pocketml.deploy.c.weights import emit_encoded

        restored = encode(np.asarray(stored), enc.bits, enc.format)  # the same values in the kernel's order
        if restored is None or restored.nbytes != enc.nbytes:
            raise PocketMLError(f"{op.name}: its {enc.format} weights do not re-encode in the kernel's layout",
                                "this is a pocketml bug: please report it with the recipe that caused it")
        scratch = f"{self.emitter.prefix}_weight_scratch"
        self.before.append(emit_encoded(restored, self.ident, scratch, self.array_for_decoder))
        return scratch

    def array_for_decoder(self, ctype: str, ident: str, values) -> str:
        return self.emitter.array(ctype, ident, values)

    def where(self, tensor: str) -> str:
        return self.emitter.where(tensor)

    def state(self, ctype: str, ident: str, count: int, fill: int) -> str:
        """A static RAM array ``<prefix>_<op>_<ident>[count]`` that keeps its values from one invoke to the
        next (an op's memory, a TFLite variable tensor); ``<prefix>_reset()`` sets every element to ``fill``."""
        return self.emitter.state(ctype, f"{self.ident}_{ident}", count, fill)

    def scratch(self, ctype: str, count: int) -> str:
        """A static buffer of ``count`` ``ctype`` that every DSP layer shares (RAM, in .bss)."""
        return self.emitter.scratch(ctype, count)


class _Emitter:
    def __init__(self, graph: QuantGraph, plan: MemoryPlan, prefix: str, encoded: dict,
                 kernels: KernelTarget = PORTABLE, scratch_limit: int | None = None) -> None:
        self.graph, self.plan, self.prefix, self.encoded, self.kernels = graph, plan, prefix, encoded, kernels
        self.scratch_limit = scratch_limit
        self.arrays: list[str] = []
        self.sizes: dict[str, int] = {}
        self.written: dict[tuple[str, bytes], str] = {}  # (C type, bytes) -> the array holding them
        self.out_pointer = output_pointers(graph)
        self.in_pointer = input_pointers(graph)
        self.buffers: dict[str, int] = {}  # DSP scratch: C type -> elements (the largest request)
        self.portable_kinds: set[str] = set()
        self.dsp_kinds: set[str] = set()
        self.writing: tuple[str, int] | None = None  # (tensor, lag): a recentred op's output, written lag below
        self.current: str | None = None  # the op being emitted (its scratch may be an arena region)
        self.requests: dict[str, int] = {}  # the current op's scratch requests: C type -> elements
        self.base = 0  # where the plan's offset 0 is in the arena (a patch stage's arena: its region)
        self.states: list[tuple[str, str, int, int]] = []  # persistent state: (symbol, C type, elements, fill)

    def state(self, ctype: str, ident: str, count: int, fill: int) -> str:
        sym = f"{self.prefix}_{ident}"
        self.states.append((sym, ctype, int(count), int(fill)))
        return sym

    def state_bytes(self) -> int:
        return sum(count * np.dtype(CTYPE_DTYPE[ctype]).itemsize for _, ctype, count, _ in self.states)

    def scratch(self, ctype: str, count: int) -> str:
        """The current op's scratch: its arena region when the plan gave it one (int32 words at its
        start, int8 bytes at its end), else the static buffer every DSP layer shares."""
        self.requests[ctype] = int(count)
        region = self.plan.scratch_of(self.current) if self.current is not None else None
        if region is None:
            self.buffers[ctype] = max(self.buffers.get(ctype, 0), int(count))
            return f"{self.prefix}_{DSP_BUFFERS[ctype]}"
        at, size = region
        at += self.base
        if ctype != "int32_t":
            at += size - (int(count) * np.dtype(CTYPE_DTYPE[ctype]).itemsize + 3) // 4 * 4
        return f"(({ctype} *)&{self.prefix}_arena[{at}])"

    def buffer_declarations(self) -> list[str]:
        return [f"static {ctype} {self.prefix}_{DSP_BUFFERS[ctype]}[{count}];  /* shared by the DSP layers */"
                for ctype, count in sorted(self.buffers.items())]

    def array(self, ctype: str, ident: str, values: np.ndarray) -> str:
        """One ``static const`` array; one equal to one already written (``shared_array_key``: 64 bytes
        or more, e.g. the weights of each step of an unrolled GRU) is that one."""
        values = np.asarray(values).ravel()
        key = shared_array_key(ctype, values)
        if key is not None and key in self.written:
            return self.written[key]
        sym = f"{self.prefix}_{ident}"
        if key is not None:
            self.written[key] = sym
        self.sizes[sym] = int(values.size * np.dtype(CTYPE_DTYPE[ctype]).itemsize)
        body = ",\n  ".join(", ".join(str(int(v)) for v in values[i:i + 16]) for i in range(0, values.size, 16))
        self.arrays.append(f"static const {ctype} {sym}[{values.size}] = {{\n  {body}\n}};")
        return sym

    def where(self, tensor: str) -> str:
        buf = self.plan.buffer_of(tensor)
        if buf.location == "input":  # the caller's buffer of the graph input in this buffer
            return next(self.in_pointer[t] for t in buf.tensors if t in self.in_pointer)
        if buf.location == "output":  # the caller's buffer of the one graph output in this buffer
            return next(self.out_pointer[t] for t in buf.tensors if t in self.out_pointer)
        offset = self.base + self.plan.offset_of(tensor)  # shifted in-place outputs start inside their buffer
        if self.writing is not None and self.writing[0] == tensor:
            offset -= self.writing[1]  # the kernel writes below, over input it no longer reads
        return f"&{self.prefix}_arena[{offset}]"

    def recentred(self, op, lines: list[str]) -> list[str]:
        """A recentred op's call lines, then the memmove that puts its output in place."""
        move = self.plan.move_of(op.name)
        if move is None:
            return lines
        at = self.base + self.plan.offset_of(op.output)
        return [*lines, f"  memmove(&{self.prefix}_arena[{at}], &{self.prefix}_arena[{at - move.lag}], "
                        f"{move.nbytes});  /* recentred: the next layers do not drift down the arena */"]

    def op_lines(self, op, data) -> tuple[str, list[str]]:
        """``op`` with a recentred op's output written ``lag`` bytes low, then moved back."""
        move = self.plan.move_of(op.name)
        self.writing = (op.output, move.lag) if move is not None else None
        try:
            definition, lines = self.op(op, data)
        finally:
            self.writing = None
        return definition, self.recentred(op, lines)

    def op(self, op, data) -> tuple[str, list[str]]:
        """One op: its params definition and its call lines (the DSP kernel's when it has one that fits)."""
        spec = SPECS[op.kind]
        ident = c_identifier(op.name)
        ctx = _OpContext(self, op, ident)
        self.current, self.requests = op.name, {}
        sym = f"{self.prefix}_{ident}"
        if (self.kernels.dsp and spec.dsp_params is not None and op.name not in self.encoded
                and op.name not in self.plan.portable_ops):
            call = spec.dsp_params(op, data, ctx, self.kernels.wide)
            if call is not None:
                return self._dsp_op(op, call, sym, ident)
        self.portable_kinds.add(op.kind)
        call = spec.c_params(op, data, ctx)
        fields = ",\n    ".join(f".{k} = {format_value(v)}" for k, v in call.fields)
        params = f"static const pocketml_{op.kind}_params {sym} = {{\n    {fields}\n}};"
        args = call.args if call.args is not None else (*(self.where(n) for n in op.inputs), self.where(op.output))
        return params, [*ctx.before, f"  pocketml_{op.kind}(&{sym}, {', '.join(args)});  /* {ident} */"]

    def _dsp_op(self, op, call: CCall, sym: str, ident: str) -> tuple[str, list[str]]:
        """A DSP kernel: built for speed, the layer's own function inlines the kernel with its constant
        parameters (the compiler folds shapes and unrolls taps); built for size, the shared copy."""
        self.dsp_kinds.add(op.kind)
        fields = ",\n    ".join(f".{k} = {format_value(v)}" for k, v in call.fields)
        params = [f"static const pocketml_{op.kind}_dsp_params {sym} = {{\n    {fields}\n}};"]
        args = ", ".join((*(self.where(n) for n in op.inputs), self.where(op.output)))
        if self.kernels.optimize == "speed":
            ins = ", ".join(f"const void *input{k}" for k in range(len(op.inputs)))  # int8_t, or int16_t (16x8)
            names = ", ".join(f"input{k}" for k in range(len(op.inputs)))
            params += [f"static __attribute__((noinline)) void {sym}_run({ins}, void *output) {{",
                       f"  pocketml_{op.kind}_dsp_body(&{sym}, 1, {names}, output);", "}"]
            return "\n".join(params), [f"  {sym}_run({args});  /* {ident} */"]
        return "\n".join(params), [f"  pocketml_{op.kind}_dsp(&{sym}, {args});  /* {ident} */"]


def kernel_needs(graph: QuantGraph, kernels: KernelTarget, scratch_limit: int | None = None,
                 encoded: dict | None = None) -> dict[str, KernelNeeds]:
    """Op name → what its DSP kernel asks of the memory plan: the scratch bytes it uses while it runs
    (widened fields, row slabs) and its own overlap lag, for ``plan_memory(kernels=...)``; with the
    ``scratch_limit`` the C will be emitted with (``emit_c``); layers stored ``encoded`` keep the
    portable kernel and need nothing."""
    if not kernels.dsp:
        return {}
    em = _Emitter(graph, MemoryPlan((), 0, len(graph.ops)), "scratch", {}, kernels, scratch_limit)
    out = {}
    for op, data in zip(graph.ops, graph.op_data, strict=True):
        spec = SPECS.get(op.kind)  # None: a patch stage (its ops' needs are in its own plan)
        if spec is None or spec.dsp_params is None or op.name in (encoded or {}):
            continue
        total = _scratch_request(em, spec, op, data, kernels, lean=False)
        if total is None:
            continue
        lean = _scratch_request(em, spec, op, data, kernels, lean=True) if total else None
        lag = (spec.dsp_overlap_lag(op, graph.tensors[op.inputs[0]], graph.tensors[op.output])
               if spec.dsp_overlap_lag is not None else None)
        if total or lag is not None:
            out[op.name] = KernelNeeds(total, lag, lean if lean is not None and lean < total else None)
    return out


def _scratch_request(em: _Emitter, spec, op, data, kernels: KernelTarget, lean: bool) -> int | None:
    """Bytes of scratch ``op``'s DSP kernel asks for (its scratch-free variant's with ``lean``); None:
    no DSP kernel fits the layer."""
    em.current, em.requests = op.name, {}
    ctx = _OpContext(em, op, c_identifier(op.name))
    ctx.lean = lean
    if spec.dsp_params(op, data, ctx, kernels.wide) is None:
        return None
    return sum(n * np.dtype(CTYPE_DTYPE[t]).itemsize for t, n in em.requests.items())


def emit_c(graph: QuantGraph, plan: MemoryPlan, name: str | None = None,
           weights: dict | None = None, *, kernels: KernelTarget = PORTABLE,
           scratch_limit: int | None = None) -> CSource:
    """The C project of ``graph`` with memory ``plan``.

    ``weights``: op name → ``EncodedWeights`` for layers stored packed/sparse/Huffman (see
    ``weights.py``); each is re-encoded in its kernel's weight order and decoded into one shared
    scratch buffer right before its kernel runs. ``kernels``: the portable C (default, any
    compiler), or the kernels for cores with the DSP extension built for speed or size
    (``deploy/c/dsp.py``; they need an Arm compiler's ``<arm_acle.h>``). ``scratch_limit``: bytes
    a DSP kernel's scratch should stay under where it can (the depthwise kernel then runs in
    channel blocks); the plan must come from ``kernel_needs`` with the same limit.
    """
    from pocketml.deploy.c.weights import decoder_files, scratch_bytes

    p = c_identifier(name or graph.name)
    weights = weights or {}
    em = _Emitter(graph, plan, p, weights, kernels, scratch_limit)
    if weights:  # one decode buffer shared by every encoded layer (RAM, in .bss)
        em.arrays.append(f"static int8_t {p}_weight_scratch[{scratch_bytes(weights)}];")
    params: list[str] = []
    calls: list[str] = []
    order = plan.order or range(len(graph.ops))  # the planner may reorder ops
    for i in order:
        op, data = graph.ops[i], graph.op_data[i]
        if isinstance(op, PatchStage):
            definitions, lines = _stage(em, op)
            params.extend(definitions)
            calls.extend([*lines, f"  POCKETML_PROFILE_LAYER({i});"])
            continue
        if SPECS[op.kind].c_kernel is None:
            if sharing(op) != "alias":
                raise PocketMLError(f"op {op.name} ({op.kind}) has no C kernel", "this is a pocketml bug")
            calls.append(f"  /* {c_identifier(op.name)}: {op.kind.upper()}, no data moves (output aliases input) */")
            continue
        definition, lines = em.op_lines(op, data)
        params.append(definition)
        calls.extend([*lines, f"  POCKETML_PROFILE_LAYER({i});"])  # the per-layer timer (pocketml profile)

    kinds, dsp_kinds = sorted(em.portable_kinds), sorted(em.dsp_kinds)
    dsp_sources = [SPECS[k].dsp_kernel for k in dsp_kinds] if kernels.optimize == "size" else []
    decoders = decoder_files(weights)
    stages = any(isinstance(op, PatchStage) for op in graph.ops)
    headers = [*(f"{k}.h" for k in kinds), *(f"{k}_dsp.h" for k in dsp_kinds), *([PATCH_RUNTIME] if stages else []),
               *(["pocketml_weights.h"] if decoders else [])]
    files = {
        "model.h": _with_reset_decl(_model_h(graph, plan, p, kernels), p, em.state_bytes(),
                                    graph.state_semantics() == PER_INFERENCE),
        "model.c": _model_c(graph, plan, p, [*em.buffer_declarations(), *em.arrays], params,
                            [*_state_check(p, em.states), *calls], headers, _state_block(p, em.states)),
        "main.c": _main_c(p, _ctype(graph.input_info) if len(graph.inputs) == 1 else "int8_t",
                          _ctype(graph.output_info) if len(graph.outputs) == 1 and len(graph.inputs) == 1
                          else "int8_t"),
        "Makefile": _makefile([SPECS[k].c_kernel for k in kinds] + dsp_sources + decoders),
    }
    runtime = resources.files("pocketml.deploy.c") / "runtime"
    for fname in (*RUNTIME_COMMON, *([DSP_RUNTIME] if dsp_kinds else []), *([PATCH_RUNTIME] if stages else []),
                  *(["pocketml_weights.h", *decoders] if decoders else [])):
        files[fname] = (runtime / fname).read_text()
    files.update(kernel_files(kinds, dsp_kinds, kernels.optimize))
    const = {k: v for k, v in em.sizes.items() if v}
    return CSource(files, p, sum(const.values()), const, em.state_bytes())


def kernel_files(kinds, dsp_kinds, optimize: str) -> dict[str, str]:
    """The op folders' C a program needs: each portable kernel and its header; each DSP kernel's
    header (inlined for speed) and, when built for size, its source."""
    files = {}
    for k in kinds:
        for fname in (SPECS[k].c_kernel, f"{k}.h"):
            files[fname] = kernel_source(k, fname).read_text()
    for k in dsp_kinds:
        for fname in (f"{k}_dsp.h", *([SPECS[k].dsp_kernel] if optimize == "size" else [])):
            files[fname] = kernel_source(k, fname).read_text()
        if f'#include "{k}.h"' in files[f"{k}_dsp.h"]:  # a DSP kernel sharing its portable twin's body
            files[f"{k}.h"] = kernel_source(k, f"{k}.h").read_text()
    return files


def _state_block(p: str, states: list[tuple[str, str, int, int]]) -> list[str]:
    """model.c's persistent state (ops with memory across invokes: TFLite's variable tensors) and
    ``<p>_reset()``, which puts it back where TFLite Micro's ResetVariableTensors does; nothing without."""
    if not states:
        return []
    decls = [f"static {ctype} {sym}[{count}];" for sym, ctype, count, _ in states]
    fills = [f"  for (i = 0; i < {count}; ++i) {{\n    {sym}[i] = {fill};\n  }}" for sym, _, count, fill in states]
    return ["/* Memory kept from one invoke to the next (RAM, outside the arena); see model.h. */", *decls,
            f"static int {p}_state_ready;", "", f"void {p}_reset(void) {{", "  int32_t i;", *fills,
            f"  {p}_state_ready = 1;", "}", ""]


def _state_check(p: str, states) -> list[str]:
    """The first invoke starts from the reset state (the static arrays are zero, the reset value may not be)."""
    return [f"  if (!{p}_state_ready) {{", f"    {p}_reset();", "  }"] if states else []


def _with_reset_decl(header: str, p: str, state_bytes: int, per_inference: bool = False) -> str:
    """model.h with ``<P>_STATE_BYTES`` and ``<p>_reset()`` when the model keeps state between invokes
    (``per_inference``: its state is reset at the start of every invoke, graph/ir.py)."""
    if not state_bytes:
        return header
    P = p.upper()
    what = (["/* The model runs one whole sequence per invoke (e.g. an LSTM classifier): every invoke starts from the",
             f" * reset state by itself, so no call of {p}_reset() is needed (TFLite Micro: reset() between",
             " * inferences). */"] if per_inference else
            ["/* The model has memory (e.g. SVDF): each invoke reads what earlier invokes left, as TFLite Micro's",
             f" * variable tensors. {p}_reset() starts a new sequence (the first invoke does it by itself). */"])
    lines = ["", f"#define {P}_STATE_BYTES {_macro(state_bytes)}    /* the ops' state (static, outside "
             "the arena) */", "", *what, f"void {p}_reset(void);"]
    tail = "\n\n#ifdef __cplusplus\n}"
    at = header.rindex(tail)
    return header[:at] + "\n".join(lines) + header[at:]


def _stage(em: _Emitter, stage: PatchStage) -> tuple[list[str], list[str]]:
    """A patch stage: its ops' parameters (patch-shaped, the same for every patch) and a loop over the
    patches that loads the input patch, runs the ops (the border of each map that may leave the map
    set to its zero point), and stores the output patch (``pocketml/graph/patch.py``)."""
    region = em.plan.scratch_of(stage.name)
    if region is None or stage.plan is None:
        raise PocketMLError(f"{stage.name}: the memory plan has no patch arena for the stage",
                            "plan a patched graph with pocketml.graph.patch.plan_patched")
    p = em.prefix
    source, sink = em.where(stage.inputs[0]), em.where(stage.output)
    out_patch = f"&{p}_arena[{region[0] + stage.plan.arena_bytes}]"
    saved = em.graph, em.plan, em.base, em.out_pointer
    em.graph, em.plan, em.base = stage.inner, stage.plan, region[0]
    em.out_pointer = {stage.inner.outputs[0]: out_patch}
    fills = {m.tensor: m for m in stage.fills}
    definitions, body = [], [_patch_call("load", stage.source, source, em.where(stage.inner.inputs[0]))]
    try:
        for i in stage.plan.order or range(len(stage.inner.ops)):
            op, data = stage.inner.ops[i], stage.inner.op_data[i]
            if SPECS[op.kind].c_kernel is None:  # an alias (a PAD on a patch): no data moves
                body.append(f"  /* {c_identifier(op.name)}: the padding is the patch's border */")
                continue
            definition, lines = em.op_lines(op, data)
            definitions.append(definition)
            body.extend(lines)
            if op.output in fills:
                body.append(_patch_call("border", fills[op.output], em.where(op.output)))
    finally:
        em.graph, em.plan, em.base, em.out_pointer = saved
    body.append(_patch_call("store", stage.sink, out_patch, sink))
    gh, gw = stage.grid
    head = [f"  /* {c_identifier(stage.name)}: {len(stage.stage_ops)} ops in {gh}x{gw} patches "
            f"(arena [{region[0]}, {region[0] + region[1]}): the patch maps) */",
            f"  for (int32_t pi = 0; pi < {gh}; pi++) {{", f"    for (int32_t pj = 0; pj < {gw}; pj++) {{"]
    return definitions, [*head, *("    " + line for line in body), "    }", "  }"]


def _patch_call(what: str, m: PatchMap, buf: str, other: str = "") -> str:
    """One ``pocketml_patch_<what>`` call for map ``m``'s patch (pi, pj) in ``buf``."""
    (H, W, C), h, w = m.shape, m.rows.size, m.cols.size
    y0, x0 = (f"{s.step} * {k}" + (f" {'-' if s.offset < 0 else '+'} {abs(s.offset)}" if s.offset else "")
              for s, k in ((m.rows, "pi"), (m.cols, "pj")))
    if what == "load":
        return f"  pocketml_patch_load({buf}, {H}, {W}, {C}, {y0}, {x0}, {other}, {h}, {w}, {m.zero_point});"
    if what == "border":
        return f"  pocketml_patch_border({buf}, {h}, {w}, {C}, {y0}, {x0}, {H}, {W}, {m.zero_point});"
    return f"  pocketml_patch_store({buf}, {h}, {w}, {C}, {other}, {W}, {y0}, {x0});"


def output_pointers(graph: QuantGraph) -> dict[str, str]:
    """Graph output tensor → the C parameter holding it: ``output`` (one output) or ``output0``..."""
    if len(graph.outputs) == 1:
        return {graph.outputs[0]: "output"}
    return {name: f"output{k}" for k, name in enumerate(graph.outputs)}


def input_pointers(graph: QuantGraph) -> dict[str, str]:
    """Graph input tensor → the C parameter holding it: ``input`` (one input) or ``input0``..."""
    if len(graph.inputs) == 1:
        return {graph.inputs[0]: "input"}
    return {name: f"input{k}" for k, name in enumerate(graph.inputs)}


def _dims(info) -> str:
    return "x".join(map(str, info.shape))


def _ctype(info) -> str:
    """The C type of a model input or output's bytes (``int8_t``; ``uint8_t`` for a uint8 edge)."""
    return f"{info.dtype}_t"


def _banner(what: str) -> str:
    return f"/* {what}\n * Generated by pocketml {__version__}. Do not edit: regenerate instead. */\n"


def _macro(value) -> str:
    """A macro's value, parenthesised so it composes in any expression (``(-128)``, ``(0.5f)``)."""
    return f"({value!r}f)" if isinstance(value, float) else f"({value})"


def _header(p: str, body: list[str]) -> str:
    """model.h around ``body``: include guard and ``extern "C"`` so C++ (an Arduino sketch) links it."""
    P = p.upper()
    return (_banner(f"Model {p}: public interface.") + f"#ifndef {P}_MODEL_H\n#define {P}_MODEL_H\n\n"
            "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n" + "\n".join(body)
            + f"\n\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {P}_MODEL_H */\n")


def _kernels_macro(p: str, kernels: KernelTarget) -> str:
    return (f'#define {p.upper()}_KERNELS "{kernels.label}"    /* the portable C, or DSP kernels built for speed '
            "or size */")


def _model_h(graph: QuantGraph, plan: MemoryPlan, p: str, kernels: KernelTarget = PORTABLE) -> str:
    if len(graph.inputs) > 1:
        return _model_h_inputs(graph, plan, p, kernels)
    if len(graph.outputs) > 1:
        return _model_h_outputs(graph, plan, p, kernels)
    i, o = graph.input_info, graph.output_info
    P = p.upper()
    return _header(p, [
        f"#define {P}_INPUT_BYTES {_macro(i.nbytes)}    /* {i.dtype}, shape {_dims(i)} (NHWC, batch 1) */",
        f"#define {P}_OUTPUT_BYTES {_macro(o.nbytes)}   /* {o.dtype}, shape {_dims(o)} */",
        f"#define {P}_ARENA_BYTES {_macro(plan.arena_bytes)}    /* static working memory inside model.c */",
        _kernels_macro(p, kernels),
        "/* real = scale * (q - zero_point) */",
        f"#define {P}_INPUT_SCALE {_macro(i.quant.scale)}",
        f"#define {P}_INPUT_ZERO_POINT {_macro(i.quant.zero_point)}",
        f"#define {P}_OUTPUT_SCALE {_macro(o.quant.scale)}",
        f"#define {P}_OUTPUT_ZERO_POINT {_macro(o.quant.zero_point)}",
        "",
        "/* Run the model once. Returns 0 on success, -1 if a pointer is NULL.",
        " * `input` and `output` must not overlap; the call uses no heap and is not reentrant. */",
        f"int {p}_invoke(const {_ctype(i)} *input, {_ctype(o)} *output);", *_input_buffer_decl(graph, plan, p)])


def _input_buffer_decl(graph: QuantGraph, plan: MemoryPlan, p: str) -> list[str]:
    """model.h's ``<p>_input_buffer`` when the plan keeps the input inside the arena."""
    if not plan.input_in_arena:
        return []
    P = p.upper()
    return ["", f"/* The input's place inside the arena ({P}_INPUT_BYTES, counted in {P}_ARENA_BYTES): write",
            f" * the input there and pass this pointer to {p}_invoke to skip its copy. Rewrite it before every",
            " * call: the first layers write over it. */",
            f"{_ctype(graph.input_info)} *{p}_input_buffer(void);"]


def _input_copy(graph: QuantGraph, plan: MemoryPlan, p: str) -> tuple[list[str], list[str]]:
    """model.c's copy of the input into the arena (unless the caller wrote it there) and the accessor."""
    if not plan.input_in_arena:
        return [], []
    at, ti = plan.offset_of(graph.inputs[0]), _ctype(graph.input_info)
    copy = [f"  if ((const void *)input != (const void *)&{p}_arena[{at}]) {{  /* the input lives in the arena */",
            f"    memcpy(&{p}_arena[{at}], input, {graph.input_info.nbytes});", "  }"]
    return copy, [f"{ti} *{p}_input_buffer(void) {{", f"  return ({ti} *)&{p}_arena[{at}];", "}", ""]


def _model_h_outputs(graph: QuantGraph, plan: MemoryPlan, p: str, kernels: KernelTarget = PORTABLE) -> str:
    """model.h of a model with several outputs: per-output macros, a per-output and a packed entry."""
    i = graph.input_info
    P = p.upper()
    lines = ["/* real = scale * (q - zero_point) */",
             f"#define {P}_INPUT_BYTES {_macro(i.nbytes)}    /* {i.dtype}, shape {_dims(i)} (NHWC, batch 1) */",
             f"#define {P}_OUTPUTS {_macro(len(graph.outputs))}    /* outputs, in the source model's order */"]
    offset = 0
    for k, o in enumerate(graph.output_infos):
        lines += [f"#define {P}_OUTPUT{k}_BYTES {_macro(o.nbytes)}   /* {o.dtype}, shape {_dims(o)} */",
                  f"#define {P}_OUTPUT{k}_OFFSET {_macro(offset)}   /* where {p}_invoke puts it in `output` */",
                  f"#define {P}_OUTPUT{k}_SCALE {_macro(o.quant.scale)}",
                  f"#define {P}_OUTPUT{k}_ZERO_POINT {_macro(o.quant.zero_point)}"]
        offset += o.nbytes
    params = ", ".join(f"{_ctype(o)} *output{k}" for k, o in enumerate(graph.output_infos))
    return _header(p, [
        *lines,
        f"#define {P}_OUTPUT_BYTES {_macro(offset)}   /* every output, packed back to back in order ({p}_invoke) */",
        f"#define {P}_ARENA_BYTES {_macro(plan.arena_bytes)}    /* static working memory inside model.c */",
        _kernels_macro(p, kernels),
        f"#define {P}_INPUT_SCALE {_macro(i.quant.scale)}",
        f"#define {P}_INPUT_ZERO_POINT {_macro(i.quant.zero_point)}",
        "",
        f"/* Run the model once, output k into `outputk` ({P}_OUTPUTk_BYTES bytes each).",
        " * Returns 0 on success, -1 if a pointer is NULL. No buffer may overlap another; the call",
        " * uses no heap and is not reentrant. */",
        f"int {p}_invoke_outputs(const {_ctype(i)} *input, {params});",
        "",
        f"/* The same, every output packed into one buffer of {P}_OUTPUT_BYTES: output k starts at",
        f" * `output + {P}_OUTPUTk_OFFSET` (the signature of a one-output model's {p}_invoke). */",
        f"int {p}_invoke(const {_ctype(i)} *input, int8_t *output);", *_input_buffer_decl(graph, plan, p)])


def _edge_macros(P: str, what: str, infos, packed_into: str) -> list[str]:
    """``<P>_<WHAT>k_BYTES/_OFFSET/_SCALE/_ZERO_POINT`` of each input or output, packed in order."""
    lines, offset = [], 0
    for k, info in enumerate(infos):
        lines += [f"#define {P}_{what}{k}_BYTES {_macro(info.nbytes)}   /* {info.dtype}, shape {_dims(info)} */",
                  f"#define {P}_{what}{k}_OFFSET {_macro(offset)}   /* where it sits in `{packed_into}` */",
                  f"#define {P}_{what}{k}_SCALE {_macro(info.quant.scale)}",
                  f"#define {P}_{what}{k}_ZERO_POINT {_macro(info.quant.zero_point)}"]
        offset += info.nbytes
    return lines


def _io_params(graph: QuantGraph) -> str:
    """The parameters of ``<p>_invoke_inputs``: every input, then the output(s)."""
    ins = [f"const {_ctype(i)} *input{k}" for k, i in enumerate(graph.input_infos)]
    outs = ([f"{_ctype(graph.output_info)} *output"] if len(graph.outputs) == 1 else
            [f"{_ctype(o)} *output{k}" for k, o in enumerate(graph.output_infos)])
    return ", ".join(ins + outs)


def _model_h_inputs(graph: QuantGraph, plan: MemoryPlan, p: str, kernels: KernelTarget = PORTABLE) -> str:
    """model.h of a model with several inputs: per-input (and per-output) macros, a per-buffer and a
    packed entry."""
    P = p.upper()
    lines = ["/* real = scale * (q - zero_point) */",
             f"#define {P}_INPUTS {_macro(len(graph.inputs))}    /* inputs, in the source model's order */",
             *_edge_macros(P, "INPUT", graph.input_infos, "input"),
             f"#define {P}_INPUT_BYTES {_macro(graph.input_bytes)}   /* every input, packed in order ({p}_invoke) */"]
    if len(graph.outputs) == 1:
        o = graph.output_info
        lines += [f"#define {P}_OUTPUT_BYTES {_macro(o.nbytes)}   /* {o.dtype}, shape {_dims(o)} */",
                  f"#define {P}_OUTPUT_SCALE {_macro(o.quant.scale)}",
                  f"#define {P}_OUTPUT_ZERO_POINT {_macro(o.quant.zero_point)}"]
    else:
        lines += [f"#define {P}_OUTPUTS {_macro(len(graph.outputs))}    /* outputs, in the source model's order */",
                  *_edge_macros(P, "OUTPUT", graph.output_infos, "output"),
                  f"#define {P}_OUTPUT_BYTES {_macro(graph.output_bytes)}   /* every output, packed back to back */"]
    return _header(p, [
        *lines,
        f"#define {P}_ARENA_BYTES {_macro(plan.arena_bytes)}    /* static working memory inside model.c */",
        _kernels_macro(p, kernels),
        "",
        "/* Run the model once on input k in `inputk`, writing the output(s). Returns 0 on success, -1",
        " * if a pointer is NULL. No buffer may overlap another; no heap; not reentrant. */",
        f"int {p}_invoke_inputs({_io_params(graph)});",
        "",
        f"/* The same with every input packed in `input` ({P}_INPUT_BYTES; input k at {P}_INPUTk_OFFSET) and",
        f" * every output in `output` ({P}_OUTPUT_BYTES), as a one-input model's {p}_invoke. */",
        f"int {p}_invoke(const int8_t *input, int8_t *output);"])


def _entry_inputs(graph: QuantGraph, p: str) -> tuple[list[str], list[str]]:
    """model.c's entries of a model with several inputs: ``<p>_invoke_inputs`` and the packed one."""
    P = p.upper()
    names = [f"input{k}" for k in range(len(graph.inputs))]
    outs = ["output"] if len(graph.outputs) == 1 else [f"output{k}" for k in range(len(graph.outputs))]
    entry = [f"int {p}_invoke_inputs({_io_params(graph)}) {{",
             f"  if ({' || '.join(n + ' == 0' for n in names + outs)}) {{", "    return -1;", "  }"]
    ins = [_typed(i, f"input + {P}_INPUT{k}_OFFSET", const=True) for k, i in enumerate(graph.input_infos)]
    if len(graph.outputs) == 1:
        out = [_typed(graph.output_info, "output")]
    else:
        out = [_typed(o, f"output + {P}_OUTPUT{k}_OFFSET") for k, o in enumerate(graph.output_infos)]
    packed = [f"int {p}_invoke(const int8_t *input, int8_t *output) {{",
              "  if (input == 0 || output == 0) {", "    return -1;", "  }",
              f"  return {p}_invoke_inputs(" + ", ".join(ins + out) + ");", "}", ""]
    return entry, packed


def _typed(info, expr: str, const: bool = False) -> str:
    """``expr`` (a pointer into the packed int8 buffers) as a pointer to ``info``'s C type: int8 as is,
    uint8 by a cast, int16/int32 through ``void *`` (the caller's buffer is aligned for them, each
    tensor's offset a multiple of its element size when the ones before it are)."""
    if info.dtype == "int8":
        return expr
    c = "const " if const else ""
    return f"({c}uint8_t *)({expr})" if info.dtype == "uint8" else f"({c}{_ctype(info)} *)({c}void *)({expr})"


def _model_c(graph, plan, p, arrays, params, calls, headers, state=()) -> str:
    P = p.upper()
    n_out = len(graph.outputs)
    ti = _ctype(graph.input_infos[0])
    if len(graph.inputs) > 1:
        entry, packed = _entry_inputs(graph, p)
    elif n_out == 1:
        entry = [f"int {p}_invoke(const {ti} *input, {_ctype(graph.output_info)} *output) {{",
                 "  if (input == 0 || output == 0) {", "    return -1;", "  }"]
        packed = []
    else:
        outs = [f"output{k}" for k in range(n_out)]
        typed = ", ".join(f"{_ctype(info)} *{o}" for info, o in zip(graph.output_infos, outs, strict=True))
        entry = [f"int {p}_invoke_outputs(const {ti} *input, {typed}) {{",
                 f"  if (input == 0 || {' || '.join(o + ' == 0' for o in outs)}) {{", "    return -1;", "  }"]
        parts = [_typed(info, f"output + {P}_OUTPUT{k}_OFFSET") for k, info in enumerate(graph.output_infos)]
        packed = [f"int {p}_invoke(const {ti} *input, int8_t *output) {{",
                  "  if (output == 0) {", "    return -1;", "  }",
                  f"  return {p}_invoke_outputs(input, " + ", ".join(parts) + ");", "}", ""]
    copy_in, accessor = _input_copy(graph, plan, p)
    arena = (_arena_declaration(plan, p) if plan.arena_bytes else
             ["/* No arena: the only tensors are the caller's input and output. */", ""])
    early = any("#scratch" in t for b in plan.buffers for t in b.tensors)  # the parameters point into it
    strings = ["#include <string.h>"] if plan.moves or plan.input_in_arena else []
    lines = [_banner(f"Model {p}: weights, memory plan and op sequence."),
             *strings, '#include "model.h"', *(f'#include "{h}"' for h in headers), "",
             "#ifdef POCKETML_PROFILE  /* pocketml profile: the QEMU harness times every layer */",
             "void pocketml_profile_layer(int32_t op);",
             "#define POCKETML_PROFILE_LAYER(op) pocketml_profile_layer(op)",
             "#else", "#define POCKETML_PROFILE_LAYER(op)", "#endif", "",
             "/* Weights and constants: static const, so they stay in flash. */",
             *arrays, "", *state, *(arena if early else []),
             "/* Op parameters (all computed at conversion time). */", *params, "", *([] if early else arena),
             *accessor, *entry, *copy_in, *calls, "  return 0;", "}", "", *packed]
    return "\n".join(lines)


def _arena_declaration(plan: MemoryPlan, p: str) -> list[str]:
    P = p.upper()
    if any("#scratch" in t for b in plan.buffers for t in b.tensors):  # int32 scratch inside: word-aligned
        return ["/* One arena for every intermediate tensor and the kernels' scratch; offsets come from the",
                " * static memory plan. Words, so that int32 scratch regions are aligned. */",
                f"static int32_t {p}_arena_words[({P}_ARENA_BYTES + 3) / 4];",
                f"#define {p}_arena ((int8_t *){p}_arena_words)", ""]
    return ["/* One arena for every intermediate tensor; offsets come from the static memory plan. */",
            f"static int8_t {p}_arena[{P}_ARENA_BYTES];", ""]


def _main_c(p: str, input_type: str = "int8_t", output_type: str = "int8_t") -> str:
    P = p.upper()
    return _banner("Host harness: raw int8 inputs on stdin, raw int8 outputs on stdout.") + f"""#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

/* Exit status: 0 every input was run and its output written; 2 the model failed; 3 stdout could
   not be written (e.g. a full disk); 4 stdin could not be read (e.g. closed); 5 the last input
   was incomplete. Every non-zero exit says why on stderr. */
int main(void) {{
  static {input_type} input[{_elements(P + "_INPUT_BYTES", input_type)}];
  static {output_type} output[{_elements(P + "_OUTPUT_BYTES", output_type)}];
  unsigned long count = 0;
  size_t got;
  while ((got = fread(input, 1, sizeof input, stdin)) == sizeof input) {{
    if ({p}_invoke(input, output) != 0) {{
      fprintf(stderr, "run_model: the model failed on input %lu\\n", count);
      return 2;
    }}
    if (fwrite(output, 1, sizeof output, stdout) != sizeof output) {{
      fprintf(stderr, "run_model: cannot write output %lu: %s\\n", count, strerror(errno));
      return 3;
    }}
    count++;
  }}
  if (ferror(stdin)) {{
    fprintf(stderr, "run_model: cannot read input %lu from stdin: %s\\n", count, strerror(errno));
    return 4;
  }}
  if (got != 0) {{
    fprintf(stderr, "run_model: input %lu is truncated: %lu of %lu bytes\\n", count, (unsigned long)got,
            (unsigned long)sizeof input);
    return 5;
  }}
  if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {{
    fprintf(stderr, "run_model: cannot write the outputs: %s\\n", strerror(errno));
    return 3;
  }}
  return 0;
}}
"""


def _elements(macro: str, ctype: str) -> str:
    """A buffer's length in elements of ``ctype`` (an int16 or int32 edge holds BYTES / its size)."""
    return macro if ctype in ("int8_t", "uint8_t") else f"{macro} / sizeof({ctype})"


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
