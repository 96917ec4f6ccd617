"""TFLite Micro's int16 sigmoid and tanh, by a 256-entry table: the gates of its integer LSTM
(``ops/unidirectional_sequence_lstm``) and its int16 LOGISTIC and TANH kernels (``ops/logistic``,
``ops/tanh``) call the same reference functions. The C twin is ``deploy/c/runtime/pocketml_sigmoid16.h``.

Both read one table, ``SIGMOID_Q16[k] ≈ 2^16 · sigmoid(k / 24)`` (``k`` in 0..255), and interpolate
linearly between two entries; tanh uses ``tanh(x) = 2 · sigmoid(2x) − 1``, so both are odd-symmetric
around the table's first entry. The entries are not ``round(2^16 · sigmoid(k/24))`` (44 of the 256
differ by one): they were **measured** from TFLite Micro's own int16 TANH kernel, by running it on
inputs that land exactly on each entry (``table_from_tflite_micro`` below; the LSTM's tests measure
them again and compare), so pocketml's integers are TFLite Micro's.

Arithmetic (int16 in, int16 out; every intermediate fits int32: |x·m| < 2^31 for m < 2^16, and the
interpolation, reached only for a < 255 · 2^9, stays < 2^26):

    sigmoid, input Q(15-p): v = (x·m + round) >> s   (m = 3, s = 0 for Q3.12: the LSTM's gates)
                            a = |v|;  k = a >> 9;  f = a & 511
                            r = (T[k] << 9) + f·(T[k+1] − T[k])            (k >= 255: r = 32767 << 10)
                            r = v >= 0 ? r + 2^9 : 2^25 − r + 2^9 − 1;    y = r >> 10       (Q0.15)
    tanh, input Q(15-p):    v = (x·m + round) >> s   (m, s: ``tanh_scaling``, ``input_scaling``)
                            a = |v|;  k = a >> 8;  f = a & 255
                            r = (T[k] << 8) + f·(T[k+1] − T[k])            (k >= 255: r = 65535 << 8)
                            r = v >= 0 ? r − 2^23 + 2^7 : −r + 2^23 + 2^7 − 1;  y = r >> 8   (Q0.15)

The 3 in ``v = 3·x`` maps the table's step (1/24 for sigmoid's, 1/48 for tanh's) onto the input's
fractional bits: the table then covers |x| < 10.7 (255 · 512 / 3 / 4096).

The standalone int16 LOGISTIC and TANH (TFLite's 16x8 models) take (m, s) from the input scale as
TFLite Micro's Prepare does (``input_scaling``): a power-of-two scale 2^-12 or 2^-11 (to 1e-3 in
log2) gives m = 3 or 6, s = 0; any other scale gets m = ⌊s_x · 3 · 4096 · 2^s⌋ with s the smallest shift that
brings m above 32767 / 2 (s <= 31). Their output is Q0.15: scale 1/32768, zero point 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.c import CCall, CContext
from pocketml.ops.tflite_read import Unsupported, op_name

SIGMOID_Q16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
], dtype=np.int64)


def _lookup(a: np.ndarray, frac_bits: int, saturated: int) -> np.ndarray:
    """Interpolated table value of ``a`` >= 0 (``frac_bits`` below the table index), scaled by 2^frac_bits."""
    k = a >> frac_bits
    kc = np.minimum(k, 254)
    lo, hi = SIGMOID_Q16[kc], SIGMOID_Q16[kc + 1]
    r = (lo << frac_bits) + (a & ((1 << frac_bits) - 1)) * (hi - lo)
    return np.where(k >= 255, saturated, r)


def _scaled(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """(x · m + round) >> s: the int16 input onto the table's scale (arithmetic shift)."""
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    return (np.asarray(x, np.int64) * multiplier + rounding) >> shift


def sigmoid16(x: np.ndarray, multiplier: int = 3, shift: int = 0) -> np.ndarray:
    """sigmoid of int16 values scaled by (multiplier, shift), as int16 Q0.15; the defaults take Q3.12
    (TFLite Micro's LSTM gate sigmoid)."""
    v = _scaled(x, multiplier, shift)
    r = _lookup(np.abs(v), 9, 0x7FFF << 10)
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    return (r >> 10).astype(np.int16)


def tanh_scaling(scale_power: int) -> tuple[int, int]:
    """(multiplier, right shift) that bring an int16 input of scale ``2^scale_power`` onto tanh's table."""
    shift = 15 + scale_power - 3
    if shift < 0:
        return 3, -shift
    return 3 << shift, 0


def tanh16(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """tanh of int16 values scaled by ``tanh_scaling`` (the LSTM) or ``input_scaling``, as int16 Q0.15."""
    v = _scaled(x, multiplier, shift)
    r = _lookup(np.abs(v), 8, 0xFFFF << 8)
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    return (r >> 8).astype(np.int16)


MAX_MULTIPLIER = (1 << 16) - 1  # x · m stays inside int32 for every int16 x


def checked_log2(scale: float) -> tuple[int, bool]:
    """(round(log2 s), whether s is a power of two within 1e-3 in log2): TFLite's ``CheckedLog2``,
    in float32 as it computes it."""
    log2 = np.float32(np.log(np.float32(scale))) * np.float32(1.0 / np.log(np.float32(2.0)))
    rounded = np.round(log2)
    return int(rounded), bool(abs(log2 - rounded) < np.float32(1e-3))


def input_scaling(name: str, what: str, scale: float) -> tuple[int, int]:
    """(multiplier, right shift) that bring an int16 input of scale ``scale`` (zero point 0) onto the
    table, as TFLite Micro's int16 LOGISTIC and TANH prepare them. ValueError for a scale so large
    that x · m would leave int32 (s_x >= 65536 / 12288 ≈ 5.3: inputs beyond ±170000)."""
    power, pot = checked_log2(scale)
    left = 12 + power  # (15 - 3 integer bits) + log2(scale)
    if pot and left in (0, 1):
        return 3 << left, 0
    m = float(np.float32(scale)) * 4096.0 * 3.0
    shift = 0
    while m <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        m *= 2.0
    if m > MAX_MULTIPLIER:
        raise ValueError(f"{name}: an int16 {what} input scale of {scale} is too large (x · {int(m)} "
                         f"leaves int32); pocketml runs scales below {MAX_MULTIPLIER / 12288:.3f}")
    return int(m), shift


@dataclass(frozen=True)
class Sigmoid16Data:
    """An int16 LOGISTIC's or TANH's input scaling (``input_scaling``)."""

    multiplier: int
    shift: int


def prepare(name: str, what: str, x: TensorInfo, y: TensorInfo) -> Sigmoid16Data:
    """Check an int16 LOGISTIC's or TANH's tensors as TFLite Micro's Prepare does; its input scaling."""
    if x.shape != y.shape:
        raise ValueError(f"{name}: {what} keeps the shape, got {x.shape} -> {y.shape}")
    if y.dtype != "int16":
        raise ValueError(f"{name}: an int16 {what} writes int16 (TFLite Micro), got {y.dtype}")
    if x.quant.zero_point != 0 or y.quant.zero_point != 0 or checked_log2(y.quant.scale) != (-15, True):
        raise ValueError(f"{name}: an int16 {what} needs input zero point 0 and output (1/32768, 0) "
                         f"(TFLite Micro), got {x.quant} -> {y.quant}")
    return Sigmoid16Data(*input_scaling(name, what, x.quant.scale))



def read_tflite(r, idx: int, what: str, x: str, y: str, int8_output: QuantParams) -> None:
    """The .tflite reader's checks of a LOGISTIC or TANH (``what``) from ``x`` to ``y``: int16 by
    TFLite Micro's Prepare (``prepare``), int8 by its fixed output quantization ``int8_output``;
    ``Unsupported`` naming what TFLite Micro would refuse."""
    if r.tensors[x].dtype == "int16":
        try:
            prepare(op_name(idx, what.lower()), what, r.tensors[x], r.tensors[y])
        except ValueError as e:
            raise Unsupported(str(e).split(": ", 1)[1]) from None
    elif r.tensors[y].dtype != "int8":
        raise Unsupported(f"{what} reads INT8 and writes {r.tensors[y].dtype.upper()}: TFLite Micro runs it "
                          "int8 -> int8 or int16 -> int16")
    elif r.tensors[y].quant != int8_output:
        raise Unsupported(f"int8 {what} output quantized {r.tensors[y].quant}; TFLite requires "
                          f"({int8_output.scale}, {int8_output.zero_point})")

def c_params(op, data: Sigmoid16Data, ctx: CContext) -> CCall:
    """The int16 params of the LOGISTIC and TANH kernels: ``{size, int16, multiplier, shift, sigmoid}``
    (the table in flash, shared with every other user)."""
    return CCall((("size", int(np.prod(ctx.tensors[op.output].shape))), ("int16", 1),
                  ("multiplier", data.multiplier), ("shift", data.shift),
                  ("sigmoid", ctx.array("uint16_t", "sigmoid", SIGMOID_Q16))))


def table_from_tflite_micro() -> np.ndarray:
    """Measure the table from TFLite Micro's int16 TANH: with the input scale just above 2/12288 its
    prepare picks multiplier 2^14 and shift 13, so ``v = 2x`` exactly, and ``x = 128 k`` lands on entry
    ``k`` with no interpolation (``y = T[k] − 2^15``); the last entry follows from one interpolated
    point between entries 254 and 255. Needs the ``tflite-micro`` package (tests only)."""
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite_micro.python.tflite_micro import runtime

    from pocketml.formats.tflite import OperatorSpec, TensorQuant, TensorSpec, TFLiteModelSpec

    scale = float(np.nextafter(np.float32(2 / 12288), np.float32(1)))
    spec = TFLiteModelSpec("int16 tanh")
    x = spec.add_tensor(TensorSpec("x", (1, 256), np.dtype(np.int16), TensorQuant((scale,), (0,))))
    y = spec.add_tensor(TensorSpec("y", (1, 256), np.dtype(np.int16), TensorQuant((2.0**-15,), (0,))))
    spec.add_operator(OperatorSpec(BuiltinOperator.TANH, 3, (x,), (y,)))
    spec.inputs, spec.outputs = [x], [y]
    interpreter = runtime.Interpreter.from_bytes(spec.serialise(), arena_size=1 << 16)
    probe = np.array([128 * k for k in range(255)] + [128 * 254 + 127], np.int16)
    interpreter.set_input(probe[None], 0)
    interpreter.invoke()
    out = interpreter.get_output(0)[0].astype(np.int64)
    table = out[:255] + 32768
    return np.append(table, table[254] + out[255] - out[254])
