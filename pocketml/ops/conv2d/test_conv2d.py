"""CONV_2D: configurations through check_op (reference == C under sanitizers == TFLite Micro),
capture (BatchNorm folded, 1-D convolution) and the configurations ``prepare`` refuses; the same
for TFLite's 16x8 scheme (int16 activations, int64 or int32 bias), with saturation and rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, one_op_graph, tensors
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.conv2d import Conv2D

CONFIGS = {
    "3x3-same": (lambda: nn.Conv2d(3, 5, 3, padding=1), (3, 8, 8)),
    "3x3-stride2-valid": (lambda: nn.Conv2d(3, 4, 3, stride=2), (3, 9, 9)),
    "rect-dilated": (lambda: nn.Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2), (2, 10, 11)),
    "1x1-nobias": (lambda: nn.Conv2d(4, 6, 1, bias=False), (4, 5, 5)),
    "bn-relu": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()), (3, 6, 6)),
    "relu6": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU6()), (1, 7, 7)),
    "conv1d-bn-relu": (lambda: nn.Sequential(nn.Conv1d(3, 5, 5, stride=2, padding=2), nn.BatchNorm1d(5), nn.ReLU()),
                       (3, 20)),
    # >= 16 output channels: the kernel's whole 16-channel blocks and the channels left over both run
    "20ch-stride2-padded": (lambda: nn.Sequential(nn.Conv2d(3, 20, 3, stride=2, padding=1), nn.ReLU()), (3, 9, 8)),
    "32ch-dilated-rect": (lambda: nn.Conv2d(17, 32, (3, 2), padding=(2, 1), dilation=(2, 1)), (17, 7, 6)),
    "1x1-48ch": (lambda: nn.Conv2d(16, 48, 1), (16, 4, 5)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors  # int8 against float: within a few output steps
    assert errors["max_err_lsb"] < 6.0, errors


def test_batchnorm_is_folded_into_the_conv():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)).eval()
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    graph = capture(model, torch.zeros(1, 2, 5, 5))
    assert [layer.kind for layer in graph.layers] == ["conv2d"]
    x = torch.randn(4, 2, 5, 5)
    layer = graph.layers[0]
    w = torch.as_tensor(layer.weight).permute(0, 3, 1, 2)
    folded = torch.nn.functional.conv2d(x, w, torch.as_tensor(layer.bias))
    assert torch.allclose(folded, model(x), atol=1e-5)


@pytest.mark.parametrize("model,needle", [
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.ConvTranspose2d(4, 2, 3), "conv_transpose"),
])
def test_capture_refuses(model, needle):
    with pytest.raises(PocketMLError) as info:
        capture(model, torch.zeros(1, 4, 8, 8))
    assert needle in str(info.value) and "pocketml can deploy" in str(info.value)


def test_prepare_rejects_mismatched_shapes():
    op = Conv2D("c", ("x",), "y", np.zeros((2, 3, 3, 4), np.int8), np.zeros(2, np.int32),
                np.ones(2, np.float32), (1, 1), (0, 0), (1, 1), "none")
    q = QuantParams(0.1, 0)
    with pytest.raises(ValueError, match="does not match"):
        op.prepare(tensors(x=((5, 5, 3), q), y=((3, 3, 2), q)))
    with pytest.raises(ValueError, match="inconsistent"):
        op.prepare(tensors(x=((5, 5, 4), q), y=((5, 5, 2), q)))


# ---- 16x8: int16 activations (zero point 0), int8 weights, int64 or int32 bias ----------------------------------

def int16_output_scale(s_in: float, s_w: np.ndarray, taps: int, spread: float = 20000.0) -> float:
    """An output scale that spreads random full-range int16 inputs to a standard deviation of ``spread``
    output steps (uniform int16 has std 18918, uniform int8 weights 73.6): above ~16000 both int16
    limits saturate on some outputs."""
    return float(s_in * np.median(s_w) * np.sqrt(taps) * 18918 * 73.6 / spread)


def conv16(seed, w_shape, x_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1), activation="none",
           bias=np.int64, bias_top=2**20, spread=20000.0, gain=1.0):
    """A random 16x8 CONV_2D and its tensors; ``gain`` multiplies the real requantization multiplier."""
    r = np.random.default_rng(seed)
    cout, kh, kw, cin = w_shape
    s_w = r.uniform(0.002, 0.008, cout).astype(np.float32)
    op = Conv2D("c", ("x",), "y", r.integers(-127, 128, w_shape).astype(np.int8),
                r.integers(-bias_top, bias_top, cout).astype(bias), s_w, stride, padding, dilation, activation)
    s_out = int16_output_scale(1e-3, s_w, kh * kw * cin, spread) / gain
    infos = {"x": TensorInfo("x", (*x_hw, cin), QuantParams(1e-3, 0), "int16"),
             "y": TensorInfo("y", (*op.out_hw((*x_hw, cin)), cout), QuantParams(s_out, 0), "int16")}
    return op, infos


CONFIGS_16X8 = {
    "3x3-same-relu-int64": dict(w_shape=(6, 3, 3, 5), x_hw=(7, 6), padding=(1, 1), activation="relu"),
    "strided-dilated-int32-bias": dict(w_shape=(4, 3, 2, 3), x_hw=(9, 8), stride=(2, 1), padding=(2, 1),
                                       dilation=(2, 1), bias=np.int32),
    "relu6-inside-int16": dict(w_shape=(5, 3, 3, 2), x_hw=(6, 6), padding=(1, 1), activation="relu6", spread=400.0),
    "bias-beyond-int32": dict(w_shape=(7, 1, 1, 9), x_hw=(5, 4), bias_top=2**38, spread=1.0),  # int64 sums > 2^31
    "multiplier-above-1": dict(w_shape=(3, 2, 2, 4), x_hw=(5, 5), gain=300.0),  # shift > 0 (TFLite allows < 7)
    "1x1-40ch-int32-bias": dict(w_shape=(40, 1, 1, 17), x_hw=(3, 4), bias=np.int32),
    "540-taps-int64-sums": dict(w_shape=(18, 3, 3, 60), x_hw=(4, 3), padding=(1, 1)),  # > 515 taps: no int32 parts
}


@pytest.mark.parametrize("config", list(CONFIGS_16X8))
def test_16x8_matches_tflite_micro_and_saturates(config, tmp_path):
    """Reference == C (ASan/UBSan, portable and the DSP build) == TFLite Micro on full-range
    random int16 inputs; the outputs reach the int16 limits (or the fused activation's)."""
    op, infos = conv16(0, **CONFIGS_16X8[config])
    result = check_op(one_op_graph(op, infos), (), tmp_path, n=48)
    assert result["dsp"] == ["conv2d_dsp.h"]  # the 16x8 DSP kernel, bit-exact under the ACLE emulation
    sum32 = "sum32 = 1" in (tmp_path / "model.c").read_text()  # products summed in int32 blocks, bias last
    assert sum32 == (config != "540-taps-int64-sums")
    y = result["graph"].run(np.random.default_rng(1).integers(-32768, 32768, (48, *infos["x"].shape), np.int16))
    data = result["graph"].op_data[0].requant
    assert y.dtype == np.int16 and data.wide == (op.bias.dtype == np.int64)
    if config != "bias-beyond-int32":
        assert (y == data.act_max).mean() > 0.01 and (y == data.act_min).mean() > 0.01, config
    assert len(np.unique(y)) > 10



@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("w_shape,x_hw,padding", [((5, 3, 3, 3), (5, 4), (1, 1)), ((4, 1, 2, 600), (2, 2), (0, 1))])
def test_16x8_dsp_kernel_is_bit_exact_at_the_limits(optimize, w_shape, x_hw, padding, tmp_path):
    """The 16x8 DSP kernel built for speed (int16 weights) and size (int8 weights widened in the loop)
    under the ACLE emulation with ASan/UBSan (an int32 partial sum that overflows aborts): inputs at
    -32768 and 32767 against weights at ±127 in channels 0 and 1, an in_c % 4 tail, padding taps, and
    in_c = 600 (150 groups a tap: the partial sums must join the int64 sum inside a tap)."""
    from pocketml.deploy.verify.conformance import ACLE, check_dsp

    if not (ACLE / "arm_acle.h").is_file():
        pytest.skip("no ACLE emulation header in this checkout")
    op, infos = conv16(3, w_shape, x_hw, padding=padding, spread=200.0)
    op.weight[0], op.weight[1] = 127, -127
    graph = one_op_graph(op, infos)
    x = np.random.default_rng(4).integers(-32768, 32768, (24, *infos["x"].shape), dtype=np.int16)
    x[0], x[1] = -32768, 32767
    x[2] = np.where(np.arange(x[2].size).reshape(x[2].shape) % 2, -32768, 32767)
    ref = graph.run_flat(x)
    assert check_dsp(graph, x, ref, tmp_path, optimize) == ["conv2d_dsp.h"]
    assert len(np.unique(ref)) > 20

def test_16x8_int64_bias_rounds_ties_up_and_int32_bias_away_from_zero(tmp_path):
    """x · 1/4 (s_in = s_w = 1, s_out = 4) on the ties -6, -2, 2, 6: TFLite's int64 requantization rounds
    them toward +inf (-1, 0, 1, 2); with an int32 bias TFLite Micro sums in int32 and rounds as int8
    kernels do, away from zero (-2, -1, 1, 2). The reference, the C and TFLite Micro agree on both."""
    from pocketml.deploy.tflite import write_tflite
    from pocketml.deploy.tflite.runtimes import run_tflite

    x = np.array([-6, -2, 2, 6], np.int16).reshape(4, 1, 1, 1)
    want = {np.int64: [-1, 0, 1, 2], np.int32: [-2, -1, 1, 2]}
    for dtype, expected in want.items():
        op = Conv2D("c", ("x",), "y", np.ones((1, 1, 1, 1), np.int8), np.zeros(1, dtype),
                    np.ones(1, np.float32), (1, 1), (0, 0), (1, 1), "none")
        infos = {"x": TensorInfo("x", (1, 1, 1), QuantParams(1.0, 0), "int16"),
                 "y": TensorInfo("y", (1, 1, 1), QuantParams(4.0, 0), "int16")}
        graph = check_op(one_op_graph(op, infos), (), tmp_path, n=8)["graph"]  # C == reference == TFLite Micro
        assert graph.run(x).ravel().tolist() == expected
        path = tmp_path / "ties.tflite"
        path.write_bytes(write_tflite(graph))
        assert np.asarray(run_tflite(path, x, "tflm").outputs[0]).ravel().tolist() == expected


@pytest.mark.parametrize("change,match", [
    (dict(y_dtype="int8"), "int16 in, int8 out"),
    (dict(x_zp=3), "zero point 0"),
    (dict(bias=np.int16), "int64 or int32 bias"),
    (dict(bias_value=2**47), "2\\^47"),
    (dict(bias=np.int32, cin=600), "overflows int32"),  # 600 taps of 32768 * 127 > 2^31: TFLite Micro would wrap
    (dict(gain=2**8), "2\\^7"),
])
def test_16x8_prepare_refuses(change, match):
    cin = change.get("cin", 2)
    op = Conv2D("c", ("x",), "y", np.ones((2, 1, 1, cin), np.int8),
                np.full(2, change.get("bias_value", 5), change.get("bias", np.int64)), np.ones(2, np.float32),
                (1, 1), (0, 0), (1, 1), "none")
    infos = {"x": TensorInfo("x", (3, 3, cin), QuantParams(1.0, change.get("x_zp", 0)), "int16"),
             "y": TensorInfo("y", (3, 3, 2), QuantParams(1.0 / change.get("gain", 1), 0),
                             change.get("y_dtype", "int16"))}
    with pytest.raises((ValueError, OverflowError), match=match):
        op.prepare(infos)


def test_16x8_conv_takes_no_pool_epilogue():
    """graph/fuse.py must leave a 16x8 conv and its max pool apart: the int16 kernels have no epilogue."""
    from pocketml.ops.max_pool2d import MaxPool2D

    op, infos = conv16(0, w_shape=(2, 3, 3, 2), x_hw=(6, 6), padding=(1, 1))
    infos["z"] = TensorInfo("z", (3, 3, 2), infos["y"].quant, "int16")
    assert op.with_pool(MaxPool2D("p", ("y",), "z", (2, 2), (2, 2), (0, 0)), infos) is None
