"""The on-device training step of a quantized graph: what trains, its memory plan, its numpy reference.

One training step is plain SGD on one labelled sample (batch 1, as on a microcontroller):

    int8 forward (the deployed kernels) ─▶ float32 head: z = W·f + b,  f = s_x·(q_f − z_f)
    ─▶ softmax cross-entropy: dL/dz = softmax(z) − onehot(label)
    ─▶ head update:  W -= lr · dL/dz ⊗ f   (trainable "last"),  b -= lr · dL/dz
    ─▶ backward through the last body layers (graph/backward.py) ─▶ int32 bias update
       b_q -= round(lr · dL/db / (s_x · s_w))   (quantization-aware scaling, MCUNetV3)

``trainable``:
    "last"       the classifier (the last FULLY_CONNECTED) as float32 weights and bias
    "bias"       the classifier's bias (float32) and the int32 biases of the ``bias_layers`` body
                 layers before it (TinyTL's bias-only update: no activation is kept, only masks)
    "last+bias"  both

The classifier's int8 weights become float32 at the start (``W = s_w · q_w``, ``b = s_x s_w · q_b``);
the frozen body stays int8 and runs the deployed kernels. Everything the step needs beyond the
forward pass (the int8 tensors kept for the backward pass, the logits, the gradient maps) is
placed with the forward pass's own buffers by the memory planner (``planner.place``), on one
timeline: forward ops, the head step, then one step per layer of the backward chain. Weight
gradients are never stored (each row of W is updated as its gradient is formed) and plain SGD
keeps no optimizer state.

``TrainPlan.step`` is the numpy reference of the emitted C (``deploy/c/train.py``): float32
operations in the C's order, so the two agree bit for bit (tests and ``bench/ondevice.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from pocketml.errors import PocketMLError
from pocketml.graph import backward as bw
from pocketml.graph.ir import QuantGraph
from pocketml.graph.planner import ALIGN, Buffer, place, plan_memory
from pocketml.graph.subgraph import alias_root, ancestors, consumers, producers, subgraph
from pocketml.ops.fully_connected.op import FullyConnected

F32 = np.float32
TRAINABLE = ("last", "bias", "last+bias")
DEFAULT_BIAS_LAYERS = 2
INT32_MAX = 2**31 - 1
EXP_CUTOFF = F32(-80.0)  # exp(x) below this is 0 (no subnormal ever forms)
LOG2E, LN2_HI, LN2_LO = F32(1.44269502), F32(0.693359375), F32(-2.12194440e-4)
# e^r ≈ Σ_{k<=7} r^k / k! (Taylor, Horner form) for |r| <= ln2/2: truncation below float32's resolution
EXP_POLY = tuple(F32(1.0 / f) for f in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0))


@dataclass(frozen=True)
class Head:
    """The classifier: the graph's last FULLY_CONNECTED, as float32 in training."""

    index: int
    name: str
    input: str  # the feature tensor (int8, [depth])
    depth: int
    classes: int
    input_zero_point: int
    input_scale: float  # a float32 value
    weight: np.ndarray  # float32 [classes, depth], s_w[c] · q_w
    bias: np.ndarray  # float32 [classes], s_x · s_w[c] · q_b
    train_weight: bool


@dataclass(frozen=True)
class BiasLayer:
    """A body layer whose int32 bias trains: its limits keep every accumulator inside int32."""

    index: int
    name: str
    channels: int
    pixels: int
    inv_scale: np.ndarray  # float32 [C]: 1 / (s_x · s_w[c]), real gradient → bias units
    fold: np.ndarray  # int32 [C]: input_offset · Σ w[c] (the C keeps bias + fold: its folded bias)
    initial: np.ndarray  # int32 [C]
    lo: np.ndarray  # int32 [C]
    hi: np.ndarray  # int32 [C]


@dataclass(frozen=True)
class ChainStep:
    """One op of the backward chain (from the classifier back to the earliest trained bias)."""

    index: int
    rule: bw.Rule
    bias: int | None  # index into ``TrainPlan.bias_layers`` when this layer's bias trains
    grad_in: bool  # compute its input's gradient (False for the earliest trained layer)
    mask: bool  # mask its output gradient by its clamp (a weighted layer's requant, an activation)


@dataclass(frozen=True)
class TrainMemory:
    """The training step's memory: one arena on the planner's timeline, and what each byte is for."""

    buffers: tuple[Buffer, ...]  # placed; tensors are labels (tensor names, "grad:<tensor>", "logits")
    roles: dict[str, str]  # buffer label (first tensor) -> "forward" | "kept activation" | "gradient" | "logits"
    arena_bytes: int
    forward_arena_bytes: int  # the forward pass alone, planned as inference is (its arena + the features)
    offsets: dict[str, int]  # forward tensor or "grad:<tensor>" / "logits" -> byte offset in the arena
    steps: tuple[str, ...]  # timeline labels
    trainable_bytes: int  # the trainable parameters in RAM (float32 W and b, int32 biases)
    frozen_head_bytes: int  # float32 classifier weights kept in flash when they do not train

    def bytes_by_role(self) -> dict[str, int]:
        totals = {"forward": 0, "kept activation": 0, "gradient": 0, "logits": 0}
        for b in self.buffers:
            totals[self.roles[b.tensors[0]]] += b.size
        return totals

    def to_dict(self) -> dict:
        roles = self.bytes_by_role()
        return {"arena_bytes": self.arena_bytes, "forward_arena_bytes": self.forward_arena_bytes,
                "kept_activation_bytes": roles["kept activation"], "gradient_bytes": roles["gradient"],
                "logits_bytes": roles["logits"], "weight_gradient_bytes": 0, "optimizer_state_bytes": 0,
                "trainable_bytes": self.trainable_bytes, "frozen_head_flash_bytes": self.frozen_head_bytes,
                "steps": list(self.steps),
                "buffers": [{"tensors": list(b.tensors), "role": self.roles[b.tensors[0]], "offset": b.offset,
                             "size": b.size, "first_step": b.first_op, "last_step": b.last_op}
                            for b in self.buffers],
                "method": "pocketml's planner (greedy by size, lifetimes on the step timeline); weight gradients "
                          "fused into the update, plain SGD keeps no optimizer state"}


@dataclass(frozen=True)
class TrainState:
    """The trainable part's values: float32 classifier W and b, int32 biases (true, not folded)."""

    head_w: np.ndarray
    head_b: np.ndarray
    biases: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class TrainPlan:
    """What trains in ``graph`` and how (see the module docstring). Build with :func:`plan_training`."""

    graph: QuantGraph
    trainable: str
    head: Head
    forward: tuple[int, ...]  # op indices of the int8 forward pass, execution order
    chain: tuple[ChainStep, ...]
    bias_layers: tuple[BiasLayer, ...]
    memory: TrainMemory
    notes: tuple[str, ...] = ()
    _data: dict = field(default_factory=dict, repr=False, compare=False)  # op index -> prepared data

    # ---- the trainable part as arrays (Flower, weights_export/import) --------------------------
    def array_names(self) -> tuple[str, ...]:
        head = (f"{self.head.name}.weight",) if self.head.train_weight else ()
        return (*head, f"{self.head.name}.bias", *(f"{b.name}.bias" for b in self.bias_layers))

    @property
    def trainable_floats(self) -> int:
        """Values of the trainable part (what ``<m>_weights_export`` writes, float32 each)."""
        return ((self.head.depth if self.head.train_weight else 0) + 1) * self.head.classes + sum(
            b.channels for b in self.bias_layers)

    def initial_state(self) -> TrainState:
        return TrainState(self.head.weight.copy(), self.head.bias.copy(),
                          tuple(b.initial.copy() for b in self.bias_layers))

    def to_arrays(self, state: TrainState) -> dict[str, np.ndarray]:
        """The trainable part as float32 arrays (int32 biases as integer-valued float32), in export order."""
        values = ([state.head_w] if self.head.train_weight else []) + [state.head_b] + list(state.biases)
        return {k: np.asarray(v, F32).copy() for k, v in zip(self.array_names(), values, strict=True)}

    def to_flat(self, state: TrainState) -> np.ndarray:
        return np.concatenate([a.ravel() for a in self.to_arrays(state).values()]).astype(F32)

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> TrainState:
        """Import: float32 values in; biases rounded half away from zero and clamped, as ``weights_import``."""
        names = self.array_names()
        if set(arrays) != set(names):
            raise PocketMLError(f"the trainable part is {list(names)}, got {sorted(arrays)}",
                                "pass the arrays TrainPlan.to_arrays returns")
        vals = [np.asarray(arrays[k], F32) for k in names]
        head_w = vals.pop(0).reshape(self.head.classes, self.head.depth) if self.head.train_weight \
            else self.head.weight.copy()
        head_b = vals.pop(0).reshape(self.head.classes)
        biases = tuple(_import_bias(v, b) for v, b in zip(vals, self.bias_layers, strict=True))
        return TrainState(head_w.copy(), head_b.copy(), biases)

    def from_flat(self, flat: np.ndarray) -> TrainState:
        flat = np.asarray(flat, F32).ravel()
        if flat.size != self.trainable_floats:
            raise PocketMLError(f"{flat.size} values for a trainable part of {self.trainable_floats}",
                                "pass what <m>_weights_export wrote")
        arrays, start = {}, 0
        for name, shape in zip(self.array_names(), self._shapes(), strict=True):
            n = int(np.prod(shape))
            arrays[name] = flat[start:start + n].reshape(shape)
            start += n
        return self.from_arrays(arrays)

    def _shapes(self) -> list[tuple[int, ...]]:
        head = [(self.head.classes, self.head.depth)] if self.head.train_weight else []
        return [*head, (self.head.classes,), *((b.channels,) for b in self.bias_layers)]

    # ---- the reference ----------------------------------------------------------------------
    def forward_values(self, state: TrainState, x: np.ndarray) -> dict[str, np.ndarray]:
        """The int8 forward pass on a batch with the state's biases: every tensor up to the features."""
        values = {self.graph.input: np.asarray(x, np.int8)}
        biases = {b.index: v for b, v in zip(self.bias_layers, state.biases, strict=True)}
        for i in self.forward:
            op = self.graph.ops[i]
            if i in biases:
                op = dataclasses.replace(op, bias=np.asarray(biases[i], np.int32))
                data = op.prepare(self.graph.tensors)
            else:
                data = self.prepared(i)
            values[op.output] = op.evaluate(data, *(values[t] for t in op.inputs))
        return values

    def prepared(self, index: int):
        if index not in self._data:
            self._data[index] = self.graph.ops[index].prepare(self.graph.tensors)
        return self._data[index]

    def features(self, state: TrainState, x: np.ndarray) -> np.ndarray:
        """int8 [N, depth]: what the classifier reads."""
        values = self.forward_values(state, x)
        return values[self.head.input].reshape(len(x), self.head.depth)

    def predict(self, state: TrainState, x: np.ndarray) -> np.ndarray:
        """float32 logits [N, classes] (``<m>_predict``)."""
        return head_forward(state.head_w, state.head_b, self.features(state, x), self.head)

    def step(self, state: TrainState, x: np.ndarray, label: int, lr: float) -> TrainState:
        """One SGD step on one int8 sample ``x`` (shape = the graph input's): ``<m>_train_step``."""
        if not 0 <= int(label) < self.head.classes:
            raise PocketMLError(f"label {label} is outside 0..{self.head.classes - 1}", "pass a class index")
        values = self.forward_values(state, np.asarray(x, np.int8)[None])
        feats = values[self.head.input].reshape(1, self.head.depth)
        grad_z = softmax_grad(head_forward(state.head_w, state.head_b, feats, self.head)[0], int(label))
        grad = head_backward(state.head_w, grad_z) if self.chain else None
        head_w, head_b = head_update(state.head_w, state.head_b, feats[0], grad_z, F32(lr), self.head)
        biases = list(state.biases)
        tensors = self.graph.tensors
        for s in self.chain:
            op = self.graph.ops[s.index]
            if s.mask:
                grad = bw.apply_mask(grad, values[op.output][0], *bw.mask_range(self.prepared(s.index)))
            if s.bias is not None:
                layer = self.bias_layers[s.bias]
                step = bw.bias_step(bw.bias_gradient(grad, layer.channels), lr, layer.inv_scale)
                biases[s.bias] = np.clip(biases[s.bias].astype(np.int64) + step, layer.lo, layer.hi).astype(np.int32)
            if s.grad_in:
                saved = values[op.inputs[0]][0] if s.rule.reads_input else None
                grad = bw.backward_input(op, s.rule, tensors, grad, saved)
        return TrainState(head_w, head_b, tuple(biases))

    def train(self, state: TrainState, x: np.ndarray, labels: np.ndarray, lr: float) -> TrainState:
        """``step`` on every sample in order (one epoch of batch-1 SGD)."""
        for xi, yi in zip(np.asarray(x, np.int8), np.asarray(labels), strict=True):
            state = self.step(state, xi, int(yi), lr)
        return state

    def to_dict(self) -> dict:
        return {"trainable": self.trainable, "head": self.head.name, "head_shape": [self.head.classes, self.head.depth],
                "head_weights_train": self.head.train_weight,
                "bias_layers": [b.name for b in self.bias_layers],
                "backward_chain": [self.graph.ops[s.index].name for s in self.chain],
                "trainable_values": self.trainable_floats, "notes": list(self.notes),
                "memory": self.memory.to_dict()}


# ---- the head's float32 arithmetic (mirrors pocketml_train.c) ----------------------------------

def dequantize_features(q: np.ndarray, head: Head) -> np.ndarray:
    """f = (float)(q − z_f) · s_f, float32 (exact integer difference, one rounding)."""
    return (q.astype(np.int32) - head.input_zero_point).astype(F32) * F32(head.input_scale)


def head_forward(w: np.ndarray, b: np.ndarray, q: np.ndarray, head: Head) -> np.ndarray:
    """z[n, c] = b[c] + Σ_k W[c, k] · f[n, k], k in order from b (``pocketml_train_head_forward``)."""
    f = dequantize_features(q.reshape(len(q), head.depth), head)
    z = np.broadcast_to(b.astype(F32), (len(f), head.classes)).copy()
    for k in range(head.depth):
        z = z + w[:, k][None, :] * f[:, k][:, None]
    return z


def exp_approx(x: np.ndarray) -> np.ndarray:
    """e^x for x <= 0 in float32, the C's ``pocketml_train_exp`` operation for operation.

    n = trunc(x·log2(e) − 0.5); r = (x − n·ln2_hi) − n·ln2_lo; e^r by a degree-7 polynomial;
    times 2^n built from its exponent bits. Below −80 the result is 0.
    """
    x = np.asarray(x, F32)
    with np.errstate(invalid="ignore", over="ignore"):
        n = np.trunc(np.maximum(x, EXP_CUTOFF) * LOG2E - F32(0.5)).astype(np.int32)
    nf = n.astype(F32)
    r = (x - nf * LN2_HI) - nf * LN2_LO
    p = EXP_POLY[0]
    for c in EXP_POLY[1:]:
        p = p * r + c
    scale = np.left_shift(np.clip(n + 127, 1, 254).astype(np.uint32), 23).view(F32)
    return np.where(x < EXP_CUTOFF, F32(0.0), p * scale).astype(F32)


def softmax_grad(z: np.ndarray, label: int) -> np.ndarray:
    """dL/dz of softmax cross-entropy for one sample: softmax(z) − onehot (``pocketml_train_softmax_grad``)."""
    z = np.asarray(z, F32)
    e = exp_approx(z - z.max())
    total = F32(0.0)
    for v in e:
        total = total + v
    onehot = np.zeros_like(e)
    onehot[label] = F32(1.0)
    return (e / total - onehot).astype(F32)


def head_backward(w: np.ndarray, grad_z: np.ndarray) -> np.ndarray:
    """dL/df[k] = Σ_c W[c, k] · dL/dz[c], c in order from +0 (``pocketml_train_head_backward``)."""
    acc = np.zeros(w.shape[1], F32)
    for c in range(w.shape[0]):
        acc = acc + w[c] * grad_z[c]
    return acc


def head_update(w: np.ndarray, b: np.ndarray, q: np.ndarray, grad_z: np.ndarray, lr: np.float32,
                head: Head) -> tuple[np.ndarray, np.ndarray]:
    """b -= lr·dL/dz; W -= (lr·dL/dz[c]) · f[k] when W trains (``pocketml_train_head_update``)."""
    t = (lr * grad_z).astype(F32)
    new_b = (b - t).astype(F32)
    if not head.train_weight:
        return w, new_b
    f = dequantize_features(q.reshape(1, head.depth), head)[0]
    return (w - t[:, None] * f[None, :]).astype(F32), new_b


def _import_bias(values: np.ndarray, layer: BiasLayer) -> np.ndarray:
    """Round half away from zero in float32 (trunc(v ± 0.5)), clamp to the layer's limits."""
    v = np.asarray(values, F32).reshape(layer.channels)
    v = np.where(np.isnan(v), F32(0.0), np.clip(v, F32(-bw.QUANT_LIMIT), bw.QUANT_LIMIT)).astype(F32)
    rounded = np.trunc(np.where(v >= 0, v + F32(0.5), v - F32(0.5))).astype(np.int64)
    return np.clip(rounded, layer.lo, layer.hi).astype(np.int32)


# ---- planning ---------------------------------------------------------------------------------

def plan_training(graph: QuantGraph, trainable: str = "last", bias_layers: int = DEFAULT_BIAS_LAYERS) -> TrainPlan:
    """What trains, the backward chain and the memory plan of ``graph``'s training step.

    Raises a PocketMLError naming the problem when the graph has no classifier to train (its
    last FULLY_CONNECTED must have no fused activation and lead to the one output through
    weightless ops only, such as SOFTMAX).
    """
    if trainable not in TRAINABLE:
        raise PocketMLError(f"unknown trainable part {trainable!r}", f"use one of: {', '.join(TRAINABLE)}")
    if not isinstance(bias_layers, int) or bias_layers < 0:
        raise PocketMLError(f"bias_layers must be an integer >= 0, got {bias_layers!r}",
                            "pass how many body layers before the classifier train their biases (e.g. 2)")
    head = _find_head(graph, train_weight=trainable != "bias")
    notes: list[str] = []
    chain_ops: list[int] = []
    if trainable != "last" and bias_layers > 0:
        chain_ops = _chain(graph, head, bias_layers, notes)
    layers, chain = _bias_layers(graph, chain_ops)
    forward = tuple(ancestors(graph, head.input))
    memory, order = _memory(graph, head, forward, chain, layers)
    return TrainPlan(graph, trainable, head, order, chain, layers, memory, tuple(notes))


def _find_head(graph: QuantGraph, train_weight: bool) -> Head:
    if len(graph.outputs) != 1:
        raise PocketMLError(f"model {graph.name} has {len(graph.outputs)} outputs; training needs one classifier",
                            "train a single-output classification model")
    dense = [i for i, op in enumerate(graph.ops) if isinstance(op, FullyConnected)]
    if not dense:
        raise PocketMLError(f"model {graph.name} has no FULLY_CONNECTED layer to train",
                            "give the model a Linear classifier as its last layer")
    i = dense[-1]
    op = graph.ops[i]
    after = [graph.ops[j] for j in range(i + 1, len(graph.ops))]
    if op.activation != "none" or any(o.param_count() for o in after) or len(op.weight) < 2:
        raise PocketMLError(f"{op.name}, the last FULLY_CONNECTED of {graph.name}, is not a classifier "
                            "(a fused activation, a weighted layer after it, or one output)",
                            "end the model with nn.Linear(features, classes) (optionally a Softmax)")
    x = graph.tensors[op.inputs[0]]
    scale = bw.bias_scale(op, graph.tensors)
    w = (np.asarray(op.weight_scale, F32)[:, None] * op.weight.astype(F32)).astype(F32)
    b = (scale * op.bias.astype(F32)).astype(F32)
    return Head(i, op.name, op.inputs[0], op.weight.shape[1], op.weight.shape[0], x.quant.zero_point,
                float(F32(x.quant.scale)), w, b, train_weight)


def _chain(graph: QuantGraph, head: Head, bias_layers: int, notes: list[str]) -> list[int]:
    """Op indices from the classifier's input back to the ``bias_layers``-th weighted layer (or as far
    as the backward rules reach), trimmed after the earliest weighted one."""
    made_by, readers = producers(graph), consumers(graph)
    steps: list[int] = []
    weighted = 0
    tensor = head.input
    while weighted < bias_layers:
        i = made_by.get(tensor)
        if i is None:
            notes.append("the backward chain reached the model's input")
            break
        op = graph.ops[i]
        rule = bw.rule_of(op)
        if rule is None or len(op.inputs) != 1:
            notes.append(f"the backward chain stops at {op.name} ({op.kind}): no backward rule for it")
            break
        if len(readers[op.output]) != 1 or op.output in graph.outputs:
            notes.append(f"the backward chain stops at {op.name}: its output feeds {len(readers[op.output])} ops")
            break
        steps.append(i)
        weighted += rule.weighted
        tensor = op.inputs[0]
    while steps and not bw.rule_of(graph.ops[steps[-1]]).weighted:
        steps.pop()
    if weighted < bias_layers:
        notes.append(f"{weighted} of the {bias_layers} bias layers asked for are reachable")
    return steps


def _bias_layers(graph: QuantGraph, chain_ops: list[int]) -> tuple[tuple[BiasLayer, ...], tuple[ChainStep, ...]]:
    layers: list[BiasLayer] = []
    chain: list[ChainStep] = []
    for n, i in enumerate(chain_ops):
        op = graph.ops[i]
        rule = bw.rule_of(op)
        bias = None
        if rule.weighted:
            bias = len(layers)
            layers.append(_bias_layer(graph, i))
        # a pool's clamp can only bind where its input already sat at the bound: mask activations and
        # weighted layers (their requantization saturates), not a full-range pool
        mask = rule.mask and (rule.weighted or bw.mask_range(op.prepare(graph.tensors)) != (-128, 127))
        chain.append(ChainStep(i, rule, bias, grad_in=n < len(chain_ops) - 1, mask=mask))
    return tuple(layers), tuple(chain)


def _bias_layer(graph: QuantGraph, i: int) -> BiasLayer:
    """Limits: |b + fold| + 128·Σ|w| < 2^31 (the C's folded-bias bound), depth·255·127 + |b| shifted by the
    layer's largest left shift fits int32 (the reference's bound), and |b| <= 2^24 (exact as float32)."""
    op = graph.ops[i]
    data = op.prepare(graph.tensors)
    out_shape = graph.tensors[op.output].shape
    channels = out_shape[-1]
    axis = 3 if bw.rule_of(op).name == "depthwise" else 0  # depthwise weights are [1, KH, KW, C]
    w = np.moveaxis(op.weight.astype(np.int64), axis, 0).reshape(channels, -1)
    fold = data.input_offset * w.sum(axis=1)
    depth = op.weight.size // channels
    folded_room = INT32_MAX - 128 * np.abs(w).sum(axis=1)
    reference_room = (INT32_MAX >> int(np.max(data.requant.left_shift, initial=0))) - depth * 255 * 127
    limit = np.minimum(np.minimum(folded_room - np.abs(fold), reference_room), int(bw.QUANT_LIMIT))
    initial = op.bias.astype(np.int64)
    if np.any(limit < np.abs(initial)):
        raise PocketMLError(f"{op.name}: its bias leaves no room to train inside int32 (or beyond 2^24 units)",
                            "train fewer bias layers (bias_layers) or use trainable='last'")
    scale = bw.bias_scale(op, graph.tensors).astype(np.float64)
    return BiasLayer(i, op.name, channels, int(np.prod(out_shape[:-1])), (1.0 / scale).astype(F32),
                     fold.astype(np.int32), op.bias.astype(np.int32).copy(), (-limit).astype(np.int32),
                     limit.astype(np.int32))


def _memory(graph: QuantGraph, head: Head, forward: tuple[int, ...], chain: tuple[ChainStep, ...],
            layers: tuple[BiasLayer, ...]) -> tuple[TrainMemory, tuple[int, ...]]:
    """One arena for the forward pass, the kept int8 tensors, the logits and the gradient maps."""
    tensors = graph.tensors
    root = {t: alias_root(graph, t) for t in tensors}
    kept: dict[str, int] = {root[head.input]: -1}  # kept tensor root -> last step that reads it (set below)
    for s in chain:
        op = graph.ops[s.index]
        if s.mask:
            kept[root[op.output]] = -1
        if s.rule.reads_input:
            kept[root[op.inputs[0]]] = -1
    kept.pop(root[graph.input], None)  # the caller's input needs no arena
    buffers: list[Buffer] = []
    roles: dict[str, str] = {}
    offsets_rel: dict[str, tuple[str, int]] = {}  # tensor -> (buffer label, offset inside it)
    nf = 0
    order: tuple[int, ...] = ()
    forward_arena = 0
    if forward:
        fwd = subgraph(graph, forward, graph.input, tuple(kept), f"{graph.name}_forward")
        plan = plan_memory(fwd, moves=False)  # no recentring memmoves: the step's C runs the plain forward
        order = tuple(forward[k] for k in plan.order)
        nf = len(order)
        features = root[head.input]
        if features != root[graph.input]:  # the forward pass alone, as inference plans it: only the features kept
            alone = plan_memory(subgraph(graph, forward, graph.input, (features,), f"{graph.name}_features"))
            forward_arena = alone.arena_bytes + tensors[features].nbytes
        for b in _rigid_groups(plan.buffers):
            if b.location == "input":
                continue
            label = b.tensors[0]
            for t in b.tensors:
                offsets_rel[t] = (label, plan.offset_of(t) - b.offset if b.location == "arena" else 0)
            if b.location == "arena":
                buffers.append(Buffer(b.tensors, -1, b.size, b.first_op, b.last_op))
                roles[label] = "forward"
            else:
                buffers.append(Buffer(b.tensors, -1, b.size, b.first_op, _last_read(graph, b, root, head, chain, nf)))
                roles[label] = "kept activation"
    head_step = nf
    buffers.append(Buffer(("logits",), -1, 4 * head.classes, head_step, head_step))
    roles["logits"] = "logits"
    grad_first = {root[head.input]: head_step}
    grad_last: dict[str, int] = {}
    for k, s in enumerate(chain):
        op = graph.ops[s.index]
        step = head_step + 1 + k
        grad_last[root[op.output]] = step
        if s.grad_in and not s.rule.alias:
            grad_first.setdefault(root[op.inputs[0]], step)
    for t, first in grad_first.items():
        if t in grad_last:
            label = f"grad:{t}"
            buffers.append(Buffer((label,), -1, 4 * tensors[t].nbytes, first, grad_last[t]))
            roles[label] = "gradient"
    placed, arena = place(buffers)
    where = {b.tensors[0]: b.offset for b in placed}
    offsets = {t: where[label] + rel for t, (label, rel) in offsets_rel.items()}
    offsets.update({label: where[label] for label in where if label.startswith("grad:") or label == "logits"})
    steps = (*(graph.ops[i].name for i in order), "head", *(f"backward {graph.ops[s.index].name}" for s in chain))
    trainable = 4 * head.classes * ((head.depth if head.train_weight else 0) + 1) + 4 * sum(b.channels for b in layers)
    frozen = 0 if head.train_weight else 4 * head.classes * head.depth
    assert all(o % ALIGN == 0 for o in where.values())
    return TrainMemory(placed, roles, arena, forward_arena, offsets, steps, trainable, frozen), order


def _rigid_groups(buffers: tuple[Buffer, ...]) -> list[Buffer]:
    """The forward plan's arena regions, each in-place group as one rigid buffer over its extent and
    lifetime (the planner proved the group's own overlaps safe; placed again beside the step's
    gradients, it must keep its regions' relative offsets)."""
    groups: dict[str, list[Buffer]] = {}
    out: list[Buffer] = []
    for b in buffers:
        if b.location == "arena" and b.group:
            groups.setdefault(b.group, []).append(b)
        else:
            out.append(b)
    for regions in groups.values():
        lo = min(r.offset for r in regions)
        names = tuple(dict.fromkeys(t for r in regions for t in r.tensors))
        out.append(Buffer(names, lo, max(r.offset + r.size for r in regions) - lo,
                          min(r.first_op for r in regions), max(r.last_op for r in regions)))
    return out


def _last_read(graph: QuantGraph, buf: Buffer, root: dict[str, str], head: Head, chain: tuple[ChainStep, ...],
               head_step: int) -> int:
    """The last step that reads a kept tensor: the head (features) or a backward step (masks, argmax)."""
    last = buf.last_op
    names = {root[t] for t in buf.tensors}
    if root[head.input] in names:
        last = max(last, head_step)
    for k, s in enumerate(chain):
        op = graph.ops[s.index]
        if (s.mask and root[op.output] in names) or (s.rule.reads_input and root[op.inputs[0]] in names):
            last = max(last, head_step + 1 + k)
    return last
