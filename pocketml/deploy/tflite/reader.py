"""``read_tflite``: an int8 ``.tflite`` flatbuffer (read with the ``tflite`` package) as a QuantGraph.

The driver: each operator goes to the translation of the op folder that reads its builtin
(``READ`` in ``pocketml/ops/<kind>/tflite.py``, found through the registry). Together they read
what TFLite's converter emits for the deployment op set:

    CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED   per-tensor or per-channel int8 weights (zero
        point 0), int32 bias (or none), SAME/VALID padding, strides, dilations, depth multiplier,
        fused NONE/RELU/RELU6; also TFLite's 16x8 (int16 activations with zero point 0, int64
        bias, or int32 for CONV_2D and FULLY_CONNECTED), with RESHAPE between them
    AVERAGE_POOL_2D, MAX_POOL_2D                   SAME/VALID, strides, fused NONE/RELU/RELU6
    RESHAPE, SQUEEZE                               → Reshape (no data moves)
    SOFTMAX (any beta > 0), ADD (same shapes), MEAN over H,W, CONCATENATION (channel axis),
    PAD (H and W), RELU, RELU6
    QUANTIZE at the input / DEQUANTIZE at an output (float32 edges): dropped; the C takes and
        gives int8, with the scale/zero point of the edge in ``model.h``
    QUANTIZE from/to uint8, int16 or int32 (edges, EDGE_TYPES), SOFTMAX to int16: kept as ops
    SVDF                                           int16 or int8 memory, a variable tensor kept
        between invokes (``docs/compile.md`` "Ops with memory")
    constant sub-graphs (SHAPE, STRIDED_SLICE, PACK, ... on constants, int32 results): computed at
        compile time (``fold.py``); what reads them sees constants
    several inputs and outputs                    the subgraph's lists, in order (an output may also
        feed later operators); each one int8, uint8 (through a QUANTIZE) or float32

TFLite's SAME padding puts the odd pixel at the bottom/right; the ops carry it as ``padding``
(top, left) + ``padding_end`` (bottom, right), so nothing is inserted.

The file is untrusted input: every index (operator codes, tensors, buffers, the model's inputs and
outputs) is checked before use, operators must come in an order where each reads only tensors
already produced (a cycle is refused) and each tensor is produced once. Every operator is checked
first; if any cannot run, one ``PocketMLError`` names each unsupported op once, with how many
times it occurs and its option values, plus the supported list, before anything is built or
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from pocketml.deploy.tflite.fold import try_fold
from pocketml.errors import PocketMLError
from pocketml.formats.tflite import Model
from pocketml.graph.ir import QuantGraph, QuantParams
from pocketml.graph.planner import sharing
from pocketml.ops.registry import tflite_readers
from pocketml.ops.tflite_read import (
    ACTIVATION_NAMES,
    EDGE_TYPES,
    INT16_OPS,
    PADDING_NAMES,
    TYPE_NAMES,
    TFLiteReader,
    Unsupported,
)

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
EDGES = ("QUANTIZE from float32 (the model input only, to int8 or int16; dropped)",
         "DEQUANTIZE (float32 model outputs only, from int8 or int16)")


def supported_text() -> str:
    """What compiles, for messages: every builtin an op folder reads, and the rules around them."""
    names = list(tflite_readers())  # in the registry's order
    return ("supported: " + ", ".join([*names, *EDGES]) + "; int8 activations (per-tensor), int8 weights "
            "(per-tensor or per-channel, zero point 0), int32 bias; int16 activations (zero point 0) "
            f"with int64 or int32 bias, TFLite's 16x8, in {', '.join(INT16_OPS)}; fused NONE/RELU/RELU6; one "
            "subgraph, one or more inputs and outputs")


SUPPORTED_TEXT = supported_text()


@dataclass(frozen=True)
class OperatorCheck:
    """One TFLite operator: would it compile, and with which options."""

    index: int  # position in the subgraph's operator list (-1: the model as a whole)
    op: str  # builtin name, e.g. CONV_2D
    options: dict[str, Any]
    problem: str | None = None  # None: supported
    becomes: str = ""  # the pocketml op kind(s) it maps to

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        where = "model" if self.index < 0 else f"operator {self.index}"
        return f"{where} {self.op}({opts}): {self.problem or 'ok'}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "op": self.op, "options": self.options, "supported": self.ok,
                "problem": self.problem, "becomes": self.becomes}


@dataclass(frozen=True)
class Edge:
    """How the model's input or output crosses into the int8 graph."""

    dtype: str  # "int8", "uint8" (a QUANTIZE converts it) or "float32" (QUANTIZE / DEQUANTIZE dropped)
    shape: tuple[int, ...]  # with the batch dimension, as in the .tflite
    quant: QuantParams


@dataclass(frozen=True)
class TFLiteImport:
    """What ``read_tflite`` returns: the graph, how its edges map, and the per-operator check."""

    graph: QuantGraph | None  # None only with strict=False when something would not compile
    input: Edge | None  # the first input's edge (the only one for most models)
    outputs: tuple[Edge, ...]  # one per model output, in the subgraph's order (empty if unknown)
    operators: tuple[OperatorCheck, ...]
    description: str = ""
    inputs: tuple[Edge, ...] = ()  # one per model input, in the subgraph's order (empty if unknown)

    @property
    def output(self) -> Edge | None:
        """The first output's edge (the only one for a one-output model)."""
        return self.outputs[0] if self.outputs else None

    def source_inputs(self, x_q):
        """Graph inputs ``x_q`` as the source .tflite takes them: its shapes, dequantized at a float input
        (a list of batches for a model with several inputs)."""
        xs = self.graph.split_inputs(x_q)
        edges = self.inputs or (self.input,)
        out = [(e.quant.dequantize(x) if e.dtype == "float32" else x).reshape(len(x), *e.shape[1:])
               for e, x in zip(edges, xs, strict=True)]
        return out[0] if len(out) == 1 else out


def _load(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "model"
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PocketMLError(f"cannot read {path}: {exc.strerror}", "pass an existing .tflite file") from exc
    return data, path.stem


def read_tflite(source: str | Path | bytes, name: str | None = None, *, strict: bool = True) -> TFLiteImport:
    """Read an int8 ``.tflite`` into a QuantGraph (see the module docstring).

    Parameters
    ----------
    source : a path to a ``.tflite`` file or its bytes.
    name : the graph's name (default: the file's stem).
    strict : raise a PocketMLError naming every operator that cannot run (default). With
        ``strict=False`` the result's ``operators`` says what would and would not compile and
        ``graph`` is None when something would not (what ``compile --check`` prints).
    """
    data, stem = _load(source)
    name = name or stem
    fix = "pass the .tflite file written by TensorFlow's converter (int8); it may be truncated or corrupt"
    if data.startswith(b"version https://git-lfs"):
        raise PocketMLError(f"{stem} is a Git LFS pointer, not the model itself",
                            "fetch the real file (git lfs pull, or download it from the model's page)")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise PocketMLError(f"{stem} is not a TFLite flatbuffer (no TFL3 identifier)", fix)
    try:
        model = Model.Model.GetRootAs(data, 0)
        n_sub = model.SubgraphsLength()
        sub = model.Subgraphs(0) if n_sub else None
        description = (model.Description() or b"").decode(errors="replace")
        counts = {"subgraphs": n_sub, "operators": sub.OperatorsLength(), "tensors": sub.TensorsLength(),
                  "buffers": model.BuffersLength(), "operator codes": model.OperatorCodesLength()}
        in_indices = [int(i) for i in sub.InputsAsNumpy()] if sub.InputsLength() else []
        out_indices = [int(i) for i in sub.OutputsAsNumpy()] if sub.OutputsLength() else []
    except Exception as exc:  # a damaged flatbuffer raises anything from struct errors to IndexError
        raise PocketMLError(f"{stem} is not a readable TFLite flatbuffer ({type(exc).__name__})", fix) from exc
    too_many = {k: v for k, v in counts.items() if v * 4 > len(data)}  # each entry is at least a 4-byte offset
    if too_many or len(in_indices) + len(out_indices) > len(data) // 4:
        what = ", ".join(f"{v:,} {k}" for k, v in too_many.items()) or "more model inputs/outputs"
        raise PocketMLError(f"{stem} is damaged: it claims {what}, more than its {len(data):,} bytes can hold", fix)
    r = TFLiteReader(model, sub, name)
    float_ops = _float_operators(r)
    if float_ops and strict:
        raise PocketMLError(f"{stem}.tflite is a float32 model: {float_ops} of {sub.OperatorsLength()} operators "
                            "compute in float, and pocketml compiles int8 models", FLOAT_FIX)
    checks = _model_checks(r, n_sub, in_indices, out_indices)
    if float_ops:
        checks.append(OperatorCheck(-1, "MODEL", {"float_operators": float_ops},
                                    f"a float32 model ({float_ops} operators compute in float): {FLOAT_FIX}"))
    in_indices = in_indices if not checks else []
    in_edges: dict[int, Edge] = {}  # float32 inputs (QUANTIZE), by tensor index
    out_edges: dict[int, Edge] = {}  # float32 outputs (DEQUANTIZE), by tensor index
    readers = tflite_readers()
    for idx in range(sub.OperatorsLength()):
        check, edge = _read_operator(r, idx, readers, in_indices, out_indices)
        checks.append(check)
        if edge is not None:
            (in_edges if edge[0] == "input" else out_edges)[edge[2]] = edge[1]
    graph = None
    in_list = tuple(in_edges[i] for i in in_indices) if in_indices and all(i in in_edges for i in in_indices) else ()
    out_list = tuple(out_edges[i] for i in out_indices) if all(i in out_edges for i in out_indices) else ()
    if all(c.ok for c in checks):
        graph, in_list, out_list, problem = _finish(r, in_indices, out_indices, in_edges, out_edges)
        if problem:
            checks.append(OperatorCheck(-1, "MODEL", {}, problem))
            graph = None
    bad = [c for c in checks if not c.ok]
    if bad and strict:
        raise PocketMLError(f"{stem}.tflite cannot be compiled: " + refusal(bad), what_would_help(bad))
    return TFLiteImport(graph, in_list[0] if in_list else None, out_list, tuple(checks), description, in_list)


FLOAT_FIX = ("quantize it to int8 first: TFLite's converter with optimizations=[tf.lite.Optimize.DEFAULT], a "
             "representative_dataset and target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; or bring "
             "the PyTorch model to `pocketml shrink`, which quantizes it")


def _float_operators(r: TFLiteReader) -> int:
    """How many operators (other than the QUANTIZE / DEQUANTIZE at float edges) read a float32 tensor."""
    count = 0
    try:
        for idx in range(r.sub.OperatorsLength()):
            op = r.sub.Operators(idx)
            code = r.model.OperatorCodes(op.OpcodeIndex())
            if OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode())) in ("QUANTIZE", "DEQUANTIZE"):
                continue
            ins = op.InputsAsNumpy() if op.InputsLength() else []
            if any(0 <= int(i) < r.sub.TensorsLength() and r.sub.Tensors(int(i)).Type() == TensorType.FLOAT32
                   for i in ins):
                count += 1
    except Exception:  # noqa: BLE001 - a damaged table: the operator checks will say what is wrong
        return 0
    return count


def _model_checks(r: TFLiteReader, n_sub: int, in_indices: list[int], out_indices: list[int]) -> list[OperatorCheck]:
    """What is wrong with the model as a whole (subgraphs, inputs, outputs, their indices)."""
    n_tensors = r.sub.TensorsLength()
    problems = []
    if n_sub != 1:
        problems.append(f"{n_sub} subgraphs (control flow); one is supported")
    if not in_indices:
        problems.append("the model declares no inputs")
    if not out_indices:
        problems.append("the model declares no outputs")
    bad = sorted({i for i in (*in_indices, *out_indices) if not 0 <= i < n_tensors})
    if bad:
        problems.append(f"model input/output tensor indices {bad[:4]} are outside the {n_tensors} tensors")
    shape = {"subgraphs": n_sub, "inputs": len(in_indices), "outputs": len(out_indices)}
    return [OperatorCheck(-1, "MODEL", shape, p) for p in problems]


def _read_operator(r: TFLiteReader, idx: int, readers, in_indices: list[int], out_indices: list[int]):
    """One operator translated (or refused): its check, and (which edge, Edge, tensor) for an edge op."""
    try:
        op = r.sub.Operators(idx)
        code_index = op.OpcodeIndex()
        if not 0 <= code_index < r.model.OperatorCodesLength():
            raise IndexError(f"operator code {code_index} does not exist")
        code = r.model.OperatorCodes(code_index)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        op_name = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if builtin == BuiltinOperator.CUSTOM:
            op_name = f"CUSTOM:{(code.CustomCode() or b'').decode(errors='replace')}"
        ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
    except Exception as exc:  # noqa: BLE001 - a damaged table
        return OperatorCheck(idx, "?", {}, f"unreadable operator ({type(exc).__name__}: {exc})"), None
    n_before = len(r.ops)
    edge = None
    try:
        n_tensors = r.sub.TensorsLength()
        wrong = [i for i in (*ins, *outs) if i != -1 and not 0 <= i < n_tensors]
        if wrong:
            raise Unsupported(f"tensor indices {wrong[:4]} are outside the subgraph's {n_tensors} tensors")
        if len(outs) != 1:
            raise Unsupported(f"{len(outs)} outputs (one expected)")
        if not ins or ins[0] < 0:
            raise Unsupported("no input tensor")
        value = try_fold(r, op_name, op, ins, outs[0])
        if value is not None:  # a constant sub-graph (shape arithmetic): computed now, no op emitted
            r.folded[outs[0]] = value
            return OperatorCheck(idx, op_name, {"value": value.ravel().tolist()[:8]}, None, "(constant: folded)"), None
        if op_name == "DEQUANTIZE" or (op_name == "QUANTIZE" and r.tensor(ins[0]).Type() == TensorType.FLOAT32):
            opts, kind = _edge(r, op_name, ins, outs[0], in_indices, out_indices)
            if op_name == "QUANTIZE":
                quant = r.tensors[r.activation(outs[0], types=("int16",))].quant
                edge = ("input", Edge("float32", r.shape(ins[0]), quant), ins[0])
            else:
                quant = r.tensors[r.activation(ins[0], types=("int16",))].quant
                edge = ("output", Edge("float32", r.shape(outs[0]), quant), outs[0])
        elif op_name in readers:
            opts, kind = readers[op_name](r, idx, op, ins, outs[0])
        else:
            raise Unsupported("no pocketml kernel for this operator")
        return OperatorCheck(idx, op_name, opts, None, kind), edge
    except Unsupported as exc:
        del r.ops[n_before:]
        return OperatorCheck(idx, op_name, _safe_options(op), str(exc)), None
    except Exception as exc:  # noqa: BLE001 - damaged tables, odd shapes: reported, never a traceback
        del r.ops[n_before:]
        return OperatorCheck(idx, op_name, {}, f"unreadable ({type(exc).__name__}: {exc})"), None


def refusal(bad: list[OperatorCheck]) -> str:
    """Every problem once: the same op with the same problem is one line with its count and where."""
    groups: dict[tuple[str, str], list[OperatorCheck]] = {}
    for c in bad:
        groups.setdefault((c.op, c.problem or ""), []).append(c)
    parts = []
    for (op, problem), cs in groups.items():
        if len(cs) == 1:
            parts.append(cs[0].describe())
            continue
        where = ", ".join(str(c.index) for c in cs[:5]) + (f" and {len(cs) - 5} more" if len(cs) > 5 else "")
        parts.append(f"{op} x{len(cs)} (operators {where}): {problem}")
    return "; ".join(parts)


def what_would_help(bad: list[OperatorCheck]) -> str:
    """The fix line: quantize a float model first; otherwise where the supported list is.

    The list of supported operators itself is long (docs/compile.md, ``compile --check``), so the
    error names only the blockers and points there.
    """
    where = ("`pocketml compile --check MODEL` lists every operator's fate and what is supported "
             "(docs/compile.md); replace or remove the blocking operators before converting, or bring "
             "the PyTorch model to `pocketml shrink`")
    if any("FLOAT32" in (c.problem or "") and "activations must be int8" in (c.problem or "") for c in bad):
        return ("this looks like a float model: quantize it to int8 first (TFLite's converter with a "
                "representative dataset), or bring the PyTorch model to `pocketml shrink`; " + where)
    return where


def _edge(r: TFLiteReader, op_name: str, ins, out, in_indices: list[int], out_indices: list[int]) -> tuple[dict, str]:
    """QUANTIZE of the float model input / DEQUANTIZE to a float model output: dropped."""
    src, dst = r.tensor(ins[0]), r.tensor(out)
    opts = {"from": TYPE_NAMES.get(src.Type()), "to": TYPE_NAMES.get(dst.Type())}
    ints = (TensorType.INT8, TensorType.INT16)  # int16: a 16x8 model's float edges
    if op_name == "QUANTIZE":
        if ins[0] not in in_indices or dst.Type() not in ints:
            raise Unsupported("a QUANTIZE from float32 is supported only from a model input to int8 or int16")
        r.activation(out, types=("int16",))
        r.alias[ins[0]] = out
    else:
        if out not in out_indices or src.Type() not in ints or dst.Type() != TensorType.FLOAT32:
            raise Unsupported("DEQUANTIZE is supported only from int8 or int16 to a float32 model output")
        r.activation(ins[0], types=("int16",))
        r.alias[out] = ins[0]
    return opts, "(edge: dropped)"


def _finish(r: TFLiteReader, in_indices: list[int], out_indices: list[int], in_edges: dict[int, Edge],
            out_edges: dict[int, Edge]):
    """The graph once every operator translated: input/output names, edges, order, checks."""
    in_list: tuple[Edge, ...] = ()
    out_list: tuple[Edge, ...] = ()
    try:
        inps = [r.activation(i, types=EDGE_TYPES) for i in in_indices]  # a wider edge: registered by its QUANTIZE
        outps = [r.activation(i, types=EDGE_TYPES) for i in out_indices]
    except Unsupported as exc:
        return None, in_list, out_list, str(exc)
    if not r.ops:
        return None, in_list, out_list, "the model has no operators pocketml runs"
    in_list = tuple(in_edges.get(i) or Edge(r.tensors[name].dtype, r.shape(i), r.tensors[name].quant)
                    for i, name in zip(in_indices, inps, strict=True))
    out_list = tuple(out_edges.get(i) or Edge(r.tensors[name].dtype, r.shape(i), r.tensors[name].quant)
                     for i, name in zip(out_indices, outps, strict=True))
    if len(set(inps)) != len(inps):
        return None, in_list, out_list, "the same tensor is two model inputs"
    problem = _order_problem(r, inps) or _output_problem(r, inps, outps)
    if problem:
        return None, in_list, out_list, problem
    kinds = ", ".join(e.dtype for e in out_list)
    note = (f"read from a .tflite ({len(r.ops)} ops; input{'s' if len(in_list) > 1 else ''} "
            f"{', '.join(e.dtype for e in in_list)}, output{'s' if len(out_list) > 1 else ''} {kinds})")
    try:
        graph = QuantGraph(r.name, r.tensors, r.ops, tuple(inps), tuple(outps), notes=[note])
        _ = graph.op_data  # every op's own checks (shapes, quantization, overflow bounds)
    except (ValueError, OverflowError, KeyError, PocketMLError) as exc:
        return None, in_list, out_list, f"an operator fails pocketml's checks: {exc}"
    return graph, in_list, out_list, None


def _order_problem(r: TFLiteReader, inps: list[str]) -> str | None:
    """Operators must read only tensors produced before them (no cycle) and produce each tensor once."""
    produced = set(inps)
    for op in r.ops:
        missing = [t for t in op.inputs if t not in produced]
        if missing:
            return (f"{op.name} reads {missing[0]}, which no earlier operator produces (the operators are out of "
                    "order or form a cycle)")
        if op.output in produced:
            return f"{op.name} writes {op.output}, which is already produced (by the model input or another operator)"
        produced.add(op.output)
    return None


def _output_problem(r: TFLiteReader, inps: list[str], outps: list[str]) -> str | None:
    """Why the model's outputs cannot each be a caller buffer of the C, or None.

    Each output must be computed by an operator and hold its own bytes: not the input, and not
    another output (the same tensor twice, or one a RESHAPE/SQUEEZE of the other, which share bytes).
    """
    produced = {op.output for op in r.ops}
    source = {op.output: op.inputs[0] for op in r.ops if sharing(op) == "alias"}

    def bytes_of(name: str) -> str:  # the tensor whose bytes ``name`` is, through reshapes
        while name in source:
            name = source[name]
        return name

    seen: dict[str, int] = {}
    for k, name in enumerate(outps):
        if name not in produced:
            return f"model output {k} ({name}) is produced by no operator"
        root = bytes_of(name)
        if root in {bytes_of(i) for i in inps}:
            return f"model output {k} ({name}) is the model input reshaped: there is nothing to run"
        if root in seen:
            return (f"model outputs {seen[root]} and {k} are the same int8 data ({name}; the same tensor, or a "
                    "RESHAPE/SQUEEZE of it): keep one of them as an output")
        seen[root] = k
    return None


def _safe_options(op) -> dict[str, Any]:
    """Option values of an operator that failed (for the message), or {} if they cannot be read."""
    try:
        table = op.BuiltinOptions()
        if table is None:
            return {}
        from importlib import import_module

        type_name = _options_type_name(op.BuiltinOptionsType())
        cls = getattr(import_module(f"tflite.{type_name}"), type_name)
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        values = {}
        for attr in dir(opts):
            if attr[0].isupper() and not attr.startswith(("GetRootAs", "Init")) and not attr.endswith(
                    ("AsNumpy", "IsNone", "Length", "BufferHasIdentifier")):
                try:
                    v = getattr(opts, attr)()
                except TypeError:
                    continue
                names = {"FusedActivationFunction": ACTIVATION_NAMES, "Padding": PADDING_NAMES}.get(attr, {})
                values[attr] = names.get(v, v) if isinstance(v, (int, float, bool)) else str(v)
        return values
    except Exception:  # noqa: BLE001 - best effort, for the message only
        return {}


def _options_type_name(code: int) -> str:
    from tflite.BuiltinOptions import BuiltinOptions

    return {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_")}[code]
