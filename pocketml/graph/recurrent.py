"""``nn.GRU`` captured by unrolling it over time into ordinary ops (TFLite has no GRU builtin; its
converter unrolls one the same way).

What is captured: one layer, one direction, ``batch_first=True``, the example's sequence length,
initial state zero (``gru(x)``). The equations are PyTorch's (``torch.nn.GRU``), the gates in the
order of ``weight_ih_l0``'s rows (r, z, n)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}  =  n_t + z_t ⊙ (h_{t-1} − n_t)

Each step t becomes a STRIDED_SLICE and a RESHAPE (x_t), six FULLY_CONNECTED (one per gate and
operand; ``b_hr`` and ``b_hz`` folded into the input side's bias), ADD + LOGISTIC for r and z,
MUL + ADD + TANH for n, SUB + MUL + ADD for h_t. At t = 0, h = 0: the hidden side is its bias,
``r ⊙ b_hn`` a MUL by a constant, and ``h_1 = n − z ⊙ n``. The output sequence, when something reads
more than single steps of it, is the h_t joined by a CONCATENATION.

Every tensor is int8 per tensor and calibrated like any other: each layer carries
``attrs["observe"]``, its float value in the same decomposition run on the GRU's input (each layer's
own ``float_forward``, :class:`_Trace`), so the ranges are those of exactly the ops the graph holds.
The result is an ordinary graph: the C emitter, the .tflite writer, TFLite Micro and QEMU see
nothing recurrent.

The PyTorch side of a GRU that reads ``out[:, t]``, ``h_n[-1]`` or ``h_n.squeeze(0)`` is claimed here
(``Walker.claim``): those nodes become aliases of the step's hidden state.

``nn.LSTM`` (``capture_lstm``) becomes, by default (``recurrent="sequence"``), ONE
UNIDIRECTIONAL_SEQUENCE_LSTM layer: TFLite Micro's int8 x int16 LSTM (int16 cell state, at the
power-of-two scale of its calibrated range), whose state resets at every inference (a PyTorch
classifier's samples each start from zero; ``graph/ir.py`` ``PER_INFERENCE``). The graph holds the
[N, T, I] input as a [1, I, T] signal, so a RESHAPE + TRANSPOSE make the op's [T, I] rows first
(unless the input is an earlier LSTM's [T, S] output); ``out[:, t]``, ``h_n[-1]``,
``h_n.squeeze(0)`` become a STRIDED_SLICE of row t + RESHAPE, the whole sequence for anything but
another LSTM a RESHAPE + TRANSPOSE back to [1, S, T]. The final cell state ``c_n`` is not an output
of the op: reading it is refused in this mode. With ``recurrent="unroll"`` the LSTM is unrolled the
same way as the GRU by its own step function (:meth:`_Unroll.lstm_steps`, gates i, f, g, o as
PyTorch orders them; the cell state int8 per tensor like every other tensor).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.graph.ir import PER_INFERENCE
from pocketml.graph.layers import FloatLayer
from pocketml.ops.registry import SPECS
from pocketml.ops.unidirectional_sequence_lstm.capture import cell_states

ZEROS = "aten.zeros.default"
LSTM = "aten.lstm.input"
RECURRENT = {"aten.gru.input", LSTM}  # ops whose initial state may be a torch.zeros
SELECT = "aten.select.int"
SQUEEZE = {"aten.squeeze.dim", "aten.squeeze.dims"}


def capture_zero_state(w, node) -> None:
    """``torch.zeros`` as a recurrent layer's initial state: nothing to compute (the rule of the
    recurrent op reads the state as zero); anywhere else it is refused."""
    for user in node.users:
        state = user.args[1] if len(user.args) > 1 else None
        states = state if isinstance(state, (list, tuple)) else [state]
        if str(user.target) not in RECURRENT or node not in states:
            raise w.fail(node, "torch.zeros as a layer's input: pocketml computes every tensor from the model's "
                         "input (a zeros tensor is supported only as a GRU's or LSTM's initial state)")
    node.meta["batch_axis"] = 1  # [layers, N, hidden]: calibration reruns it for its batch (graph/layers.py)
    # no layer: the recurrent op's rule sees that its initial state is this zeros node


def capture_packed(w, node) -> None:
    raise w.fail(node, "a recurrent layer on a packed sequence; pocketml runs a fixed sequence length: pass "
                 "the padded [N, T, features] batch (batch_first=True) instead of a PackedSequence")


def refuse_packed_sequences(model: torch.nn.Module, run) -> None:
    """``run()`` (the model on its example) with a hook on every recurrent module: one fed a
    ``PackedSequence`` is refused by its module path (torch.export would fail with a message about
    ``zeros`` that names no layer)."""
    from torch.nn.utils.rnn import PackedSequence

    def hook(module, args, path=""):
        if args and isinstance(args[0], PackedSequence):
            raise PocketMLError(f"{path} ({type(module).__name__}) is fed a packed sequence; pocketml runs a fixed "
                                "sequence length", "pass the padded [N, T, features] batch to the layer "
                                "(batch_first=True) instead of a PackedSequence")

    handles = [m.register_forward_pre_hook(lambda m, args, path=path: hook(m, args, path))
               for path, m in model.named_modules() if isinstance(m, torch.nn.RNNBase)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()


def capture_gru(w, node) -> None:
    """One ``nn.GRU`` layer unrolled over the example's time steps (module docstring)."""
    _capture(w, node, "GRU")


def capture_lstm(w, node) -> None:
    """One ``nn.LSTM`` layer: the UNIDIRECTIONAL_SEQUENCE_LSTM op (``w.recurrent == "sequence"``), or
    unrolled over the example's time steps (:meth:`_Unroll.lstm_steps`)."""
    _capture(w, node, "LSTM")


def check_mode(recurrent: str) -> str:
    """``recurrent`` checked: one of ``RECURRENT_MODES``."""
    if recurrent not in RECURRENT_MODES:
        raise PocketMLError(f"unknown recurrent mode {recurrent!r}",
                            f"use one of: {', '.join(RECURRENT_MODES)} (sequence: nn.LSTM to TFLite's "
                            "UNIDIRECTIONAL_SEQUENCE_LSTM op; unroll: into ordinary ops over time)")
    return recurrent


def _capture(w, node, cell: str) -> None:
    """Refused, the layer's readers (``out[:, -1]``, ``h_n[-1]``) take stand-ins, so the recurrent
    layer is its model's one blocker."""
    try:
        if cell == "LSTM" and w.recurrent == SEQUENCE:
            _sequence_op(w, node)
        else:
            _unroll(w, node, cell)
    except PocketMLError:
        for item in node.users:
            for reader in (item, *(u for u in item.users if str(u.target) == SELECT or str(u.target) in SQUEEZE)):
                w.stand_in(reader)
                w.claim(reader, w.tensor_of[reader.name])
        raise


def _unroll(w, node, cell: str) -> None:
    a = w.args(node)
    _check_settings(w, node, a, cell)
    src = w.tensor(node, a["input"])
    seq = tuple(int(d) for d in a["input"].meta["val"].shape[1:])
    if len(seq) != 2 or w.shape_of[src] != (1, seq[1], seq[0]):
        raise w.fail(node, f"a {cell} input of per-sample shape {seq} held as {w.shape_of[src]}; pass "
                     "[N, T, features]")
    steps, features = seq
    w_ih, w_hh, b_ih, b_hh = _weights(w, node, a, cell, features)
    unroll = _Unroll(node, src)
    step = unroll.gru_steps if cell == "GRU" else unroll.lstm_steps
    states = step(steps, w_ih, w_hh, b_ih, b_hh)
    hs = states[0]
    claims = _claims(w, node, states, unroll)
    _add_layers(w, node, cell, unroll, src)
    w.alias(node, hs[-1])
    for user, layer_name in claims:
        w.claim(user, layer_name)


def _sequence_op(w, node) -> None:
    """One ``nn.LSTM`` as one UNIDIRECTIONAL_SEQUENCE_LSTM layer, state reset per inference (module
    docstring), with the layout layers around it; each layer observed through :class:`_Trace`."""
    a = w.args(node)
    _check_settings(w, node, a, "LSTM")
    steps, features = (int(d) for d in a["input"].meta["val"].shape[1:])
    src = w.tensor(node, a["input"])
    w_ih, w_hh, b_ih, b_hh = _weights(w, node, a, "LSTM", features)
    hidden, bias = w_hh.shape[1], b_ih + b_hh
    for item in node.users:
        if item.args[1] == 2 and item.users:
            raise w.fail(node, "its final cell state c_n is read; TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM gives only "
                         "the hidden states: read h_n or the output sequence, or unroll the LSTM "
                         "(recurrent='unroll', `--recurrent unroll`)")
    build = _Unroll(node, src)
    if w.shape_of[src] == (1, features, steps):  # the graph's [I, T] signal: to [T, I] rows
        flat = build.add("reshape", "signal", (features, steps), (src,), torch_shape=(steps, features))
        rows = build.add("transpose", "rows", (steps, features), (flat,), perm=(1, 0), torch_perm=(0, 1))
    elif w.shape_of[src] == (steps, features):  # an earlier LSTM's rows
        rows = src
    else:
        raise w.fail(node, f"an LSTM input of per-sample shape {(steps, features)} held as {w.shape_of[src]}; "
                     "pass [N, T, features]")
    lstm = build.add("unidirectional_sequence_lstm", "lstm", (steps, hidden), (rows,),
                     bias=np.ascontiguousarray(bias.reshape(4, hidden), dtype=np.float32),
                     input_weights=np.ascontiguousarray(w_ih.reshape(4, hidden, features), dtype=np.float32),
                     recurrent_weights=np.ascontiguousarray(w_hh.reshape(4, hidden, hidden), dtype=np.float32),
                     state=PER_INFERENCE)
    claims = _sequence_claims(w, node, lstm, steps, hidden, build)
    _add_layers(w, node, "LSTM", build, src)
    w.layer_by_name[lstm].attrs["observe_extra"] = {"cell": cell_states}
    w.alias(node, lstm)
    for user, layer_name in claims:
        w.claim(user, layer_name)



def _weights(w, node, a, cell: str, features: int):
    """The layer's constant ``(w_ih, w_hh, b_ih, b_hh)``, checked against ``features`` (zero biases
    when it has none)."""
    weights = [w.const(p) for p in a["params"]]
    if any(p is None for p in weights):
        raise w.fail(node, f"{cell} weights that are not constant parameters")
    w_ih, w_hh = weights[0], weights[1]
    hidden, gates = w_hh.shape[1], GATES[cell]
    if w_ih.shape != (gates * hidden, features) or w_hh.shape != (gates * hidden, hidden):
        raise w.fail(node, f"{cell} weights of shapes {w_ih.shape}, {w_hh.shape} for {features} features")
    b_ih, b_hh = (weights[2], weights[3]) if a["has_biases"] else (np.zeros(gates * hidden, np.float32),) * 2
    return w_ih, w_hh, b_ih, b_hh


def _add_layers(w, node, cell: str, build: _Unroll, src: str) -> None:
    """``build``'s layers into the walker's graph, each named after the user's module and observed
    through one :class:`_Trace` of the layer's input ``src``."""
    trace = _Trace(build.layers, src)
    path, kind = _module(node, cell)
    for layer in build.layers:
        layer.module = f"{path} ({kind})" if path else kind
        layer.attrs["observe"] = (node.args[0].name, lambda x, name=layer.name: trace(x, name))
        w.layers.append(layer)
        w.layer_by_name[layer.name] = layer
        w.shape_of[layer.name] = layer.out_shape

def _sequence_claims(w, node, lstm: str, steps: int, hidden: int, build: _Unroll) -> list[tuple[Any, str]]:
    """What reads the sequence op, as (FX node, layer) pairs: ``out[:, t]`` and ``h_n[-1]`` a row of
    its [T, S] output, the whole sequence that output itself (read by another LSTM) or back in the
    graph's [1, S, T] signal layout (anything else)."""
    rows: dict[int, str] = {}

    def row(t: int) -> str:
        if t not in rows:
            picked = build.add("strided_slice", f"t{t}_row", (1, hidden), (lstm,), begin=(t, 0), size=(1, hidden),
                               stride=(1, 1), torch=(1, t, t + 1, 1), rank=3)
            rows[t] = build.add("reshape", f"t{t}_h", (hidden,), (picked,), torch_shape=(hidden,))
        return rows[t]

    claims = []
    for item in node.users:
        which = item.args[1]  # 0 the output sequence, 1 h_n, 2 c_n (unread: _sequence_op refuses a read one)
        if which == 2:
            continue
        whole = []
        for user in item.users:
            if which == 0 and str(user.target) == SELECT and user.args[1] == 1 and isinstance(user.args[2], int):
                claims.append((user, row(user.args[2] % steps)))
            elif which == 1 and ((str(user.target) == SELECT and user.args[1] == 0 and user.args[2] in (0, -1))
                                 or (str(user.target) in SQUEEZE and tuple(np.atleast_1d(user.args[1])) == (0,))):
                claims.append((user, row(steps - 1)))
            elif which == 1:
                raise w.fail(node, f"its final state read by {user.target}; read it as h_n[-1] or h_n.squeeze(0) "
                             "(or use out[:, -1] of the output sequence)")
            else:
                whole.append(user)
        if which == 1:
            claims.append((item, row(steps - 1)))
        elif whole and not all(str(u.target) == LSTM for u in whole):  # the sequence as the graph holds one
            cube = build.add("reshape", "seq_rows", (1, steps, hidden), (lstm,), torch_shape=(steps, hidden))
            claims.append((item, build.add("transpose", "seq", (1, hidden, steps), (cube,), perm=(0, 2, 1),
                                           torch_perm=(0, 1))))
        else:  # the rows themselves: read by another LSTM, or only row by row
            claims.append((item, lstm))
    return claims


def _check_settings(w, node, a: dict[str, Any], cell: str) -> None:
    """Refuse what the unrolling does not cover, saying what would work."""
    if a["bidirectional"]:
        raise w.fail(node, f"a bidirectional {cell}; pocketml unrolls one direction: build it with "
                     "bidirectional=False")
    if int(a["num_layers"]) != 1:
        raise w.fail(node, f"a {cell} of num_layers={a['num_layers']}; pocketml unrolls one layer: stack "
                     f"nn.{cell}(..., num_layers=1) modules, each reading the previous one's output sequence")
    if not a["batch_first"]:
        raise w.fail(node, f"a {cell} with batch_first=False; pocketml's first axis is the batch: build it with "
                     "batch_first=True and pass [N, T, features]")
    hx = a["hx"] if isinstance(a["hx"], (list, tuple)) else [a["hx"]]
    if not all(w.is_tensor(h) and str(h.target) == ZEROS for h in hx):
        raise w.fail(node, f"a {cell} given an initial state; pocketml starts from zeros: call it as "
                     f"{cell.lower()}(x), without {'h0' if cell == 'GRU' else '(h0, c0)'}")


def _module(node, cell: str) -> tuple[str, str]:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", cell
    path, kind = list(stack.values())[-1]
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    return path, kind.rsplit(".", 1)[-1]


class _Unroll:
    """The float layers of one GRU or LSTM, step by step (names ``<node>_t<t>_<what>``)."""

    def __init__(self, node, src: str) -> None:
        self.node, self.src = node, src
        self.layers: list[FloatLayer] = []

    def add(self, kind: str, what: str, shape: tuple[int, ...], inputs: tuple[str, ...],
            weight: np.ndarray | None = None, bias: np.ndarray | None = None, **attrs) -> str:
        name = f"{self.node.name}_{what}"
        self.layers.append(FloatLayer(kind, name, name, shape, weight, bias, attrs=attrs, inputs=inputs))
        return name

    def fc(self, what: str, x: str, weight: np.ndarray, bias: np.ndarray) -> str:
        return self.add("fully_connected", what, (weight.shape[0],), (x,), np.ascontiguousarray(weight),
                        np.ascontiguousarray(bias, dtype=np.float32))

    def x_step(self, t: int, features: int) -> str:
        """x_t, the step's [features] vector: a slice of the [1, features, T] input, flattened."""
        xt = self.add("strided_slice", f"t{t}_x", (1, features, 1), (self.src,), begin=(0, 0, t),
                      size=(1, features, 1), stride=(1, 1, 1), torch=(1, t, t + 1, 1), rank=3)
        return self.add("reshape", f"t{t}_xt", (features,), (xt,))

    def gru_steps(self, steps: int, w_ih, w_hh, b_ih, b_hh) -> tuple[list[str]]:
        """Every step's layers of a GRU; the hidden state's layer of each step."""
        hidden = w_hh.shape[1]
        gate = [slice(k * hidden, (k + 1) * hidden) for k in range(3)]  # r, z, n
        features = w_ih.shape[1]
        h, hs = None, []
        for t in range(steps):
            p, xt = f"t{t}_", self.x_step(t, features)
            r, z = (self._gate(p, g, xt, h, w_ih[gate[k]], w_hh[gate[k]], b_ih[gate[k]] + b_hh[gate[k]])
                    for k, g in enumerate("rz"))
            a_n = self.fc(p + "xn", xt, w_ih[gate[2]], b_ih[gate[2]])
            b_hn = b_hh[gate[2]]
            if h is None:  # W_hn·0 + b_hn: a constant
                if np.any(b_hn != 0):
                    rb = self.add("mul", p + "rhn", (hidden,), (r,), constant_index=1, constant_torch=b_hn,
                                  constant=b_hn, rank=2)
                    a_n = self.add("add", p + "an", (hidden,), (a_n, rb))
            else:
                hn = self.fc(p + "hn", h, w_hh[gate[2]], b_hn)
                a_n = self.add("add", p + "an", (hidden,), (a_n, self.add("mul", p + "rhn", (hidden,), (r, hn))))
            n = self.add("tanh", p + "n", (hidden,), (a_n,))
            if h is None:  # h_1 = n − z ⊙ n
                h = self.add("sub", p + "h", (hidden,), (n, self.add("mul", p + "zn", (hidden,), (z, n))))
            else:  # h_t = n + z ⊙ (h − n)
                d = self.add("sub", p + "d", (hidden,), (h, n))
                h = self.add("add", p + "h", (hidden,), (n, self.add("mul", p + "zd", (hidden,), (z, d))))
            hs.append(h)
        return (hs,)

    def lstm_steps(self, steps: int, w_ih, w_hh, b_ih, b_hh) -> tuple[list[str], list[str]]:
        """Every step's layers of an LSTM (PyTorch's ``nn.LSTM``, gates i, f, g, o)::

            i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·),  g = tanh(W_ig x + b_ig + W_hg h + b_hg)
            c_t = f ⊙ c_{t-1} + i ⊙ g   (at t = 0: i ⊙ g),   h_t = o ⊙ tanh(c_t)

        Each gate: FULLY_CONNECTED from x_t (both biases) and from h (none) joined by an ADD, then
        LOGISTIC or TANH. The hidden and the cell state's layer of each step."""
        hidden = w_hh.shape[1]
        gate = [slice(k * hidden, (k + 1) * hidden) for k in range(4)]  # i, f, g, o
        features = w_ih.shape[1]
        h = c = None
        hs, cs = [], []
        for t in range(steps):
            p, xt = f"t{t}_", self.x_step(t, features)
            i, f, g, o = (self._gate(p, name, xt, h, w_ih[gate[k]], w_hh[gate[k]], b_ih[gate[k]] + b_hh[gate[k]],
                                     "tanh" if name == "g" else "logistic")
                          for k, name in enumerate("ifgo"))
            ig = self.add("mul", p + "ig", (hidden,), (i, g))
            c = ig if c is None else self.add("add", p + "c", (hidden,), (self.add("mul", p + "fc", (hidden,), (f, c)),
                                                                           ig))
            h = self.add("mul", p + "h", (hidden,), (o, self.add("tanh", p + "tc", (hidden,), (c,))))
            hs.append(h)
            cs.append(c)
        return hs, cs

    def _gate(self, p: str, g: str, xt: str, h: str | None, w_i, w_h, bias, kind: str = "logistic") -> str:
        pre = self.fc(p + "x" + g, xt, w_i, bias)
        if h is not None:
            pre = self.add("add", p + "a" + g, (w_i.shape[0],), (pre, self.fc(p + "h" + g, h, w_h,
                                                                                np.zeros(w_h.shape[0], np.float32))))
        return self.add(kind, p + g, (w_i.shape[0],), (pre,))

    def sequence(self, hs: list[str]) -> str:
        """The output sequence, torch [N, T, H]: each h_t as (1, H, 1) joined on the channel axis
        (the graph's layout of a [T, H] signal)."""
        hidden = self.layers[-1].out_shape[0]
        cols = [self.add("reshape", f"t{t}_col", (1, hidden, 1), (h,), torch_shape=(1, hidden))
                for t, h in enumerate(hs)]
        if len(cols) == 1:
            return cols[0]
        return self.add("concatenation", "seq", (1, hidden, len(hs)), tuple(cols), axis=-1, torch_dim=1)


def _claims(w, node, states: tuple[list[str], ...], unroll: _Unroll) -> list[tuple[Any, str]]:
    """The layer's outputs as PyTorch reads them: (FX node, layer holding its value) pairs. Output 0
    is the sequence of hidden states, 1 the last one (h_n), 2 an LSTM's last cell state (c_n)."""
    claims, hs = [], states[0]
    for item in node.users:
        if item.args[1] == 0:  # the output sequence [N, T, H]
            whole = False
            for user in item.users:
                if str(user.target) == SELECT and user.args[1] == 1 and isinstance(user.args[2], int):
                    claims.append((user, hs[user.args[2] % len(hs)]))
                else:
                    whole = True
            claims.append((item, unroll.sequence(hs) if whole else hs[-1]))
            continue
        last = states[item.args[1] - 1][-1]
        for user in item.users:  # h_n (or c_n) [num_layers = 1, N, H]
            if (str(user.target) == SELECT and user.args[1] == 0 and user.args[2] in (0, -1)) or (
                    str(user.target) in SQUEEZE and tuple(np.atleast_1d(user.args[1])) == (0,)):
                claims.append((user, last))
            else:
                raise w.fail(node, f"its final state read by {user.target}; read it as h_n[-1] or "
                             "h_n.squeeze(0) (or use out[:, -1] of the output sequence)")
        claims.append((item, last))
    return claims


class _Trace:
    """The recurrent layer's layers run in float PyTorch (each layer's ``float_forward``) on one batch of its
    input, remembered for that batch: calibration asks for every layer's value in turn."""

    def __init__(self, layers: list[FloatLayer], src: str) -> None:
        self.layers, self.src = layers, src
        self._x: torch.Tensor | None = None
        self._values: dict[str, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if x is not self._x:
            self._values, self._x = self.run(x), x
        return self._values[name]

    def run(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        values = {self.src: x}
        with torch.no_grad():
            for ly in self.layers:
                weight = None if ly.weight is None else torch.as_tensor(ly.weight)
                bias = None if ly.bias is None else torch.as_tensor(ly.bias)
                values[ly.name] = SPECS[ly.kind].float_forward(ly, [values[i] for i in ly.inputs], weight, bias)
        return values


GATES = {"GRU": 3, "LSTM": 4}
SEQUENCE, UNROLL = "sequence", "unroll"  # nn.LSTM: TFLite's sequence op, or unrolled into ordinary ops
RECURRENT_MODES = (SEQUENCE, UNROLL)
CAPTURE = {"aten.gru.input": capture_gru, "aten.gru.data": capture_packed, ZEROS: capture_zero_state,
           "aten.lstm.input": capture_lstm, "aten.lstm.data": capture_packed}
