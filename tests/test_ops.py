"""The op set as a whole: the registry matches the folders, what every op shares, and what no op
captures. Each op's own tests live beside it: ``pocketml/ops/<kind>/test_<kind>.py``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import pocketml.ops
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantParams
from pocketml.ops.registry import SPECS, kernel_source
from pocketml.ops.requantize import activation_range

OPS_DIR = Path(pocketml.ops.__file__).parent
TFLITE_ONLY = {"svdf"}  # ops no PyTorch layer becomes (TFLite Micro's audio models bring them)


def test_every_op_folder_is_registered_and_complete():
    folders = sorted(p.parent.name for p in OPS_DIR.glob("*/__init__.py"))
    assert folders == sorted(SPECS), "an op folder is missing from registry.SPECS (or a spec has no folder)"
    for kind, spec in SPECS.items():
        assert spec.kind == kind == spec.op.kind
        assert dataclasses.is_dataclass(spec.op) and spec.op.__dataclass_params__.frozen
        assert (OPS_DIR / kind / f"test_{kind}.py").is_file(), f"{kind} has no tests beside it"
        if spec.c_kernel is not None:
            assert spec.c_kernel == f"{kind}.c"
            header = kernel_source(kind, f"{kind}.h").read_text()
            assert f"pocketml_{kind}_params" in header and 'extern "C"' in header
        if spec.dsp_kernel is not None:  # a kernel for cores with the DSP extension (docs/dsp.md)
            assert spec.dsp_kernel == f"{kind}_dsp.c" and spec.dsp_params is not None and spec.c_kernel
            header = kernel_source(kind, f"{kind}_dsp.h").read_text()
            assert f"pocketml_{kind}_dsp_params" in header and f"pocketml_{kind}_dsp_body(" in header
            assert f"pocketml_{kind}_dsp_body(p, 0," in kernel_source(kind, spec.dsp_kernel).read_text()
        assert spec.tflite_write is not None and spec.tflite_read, f"{kind} has no .tflite mapping"
        if kind not in TFLITE_ONLY:  # an op PyTorch produces is quantized and trained (QAT) from its float layer
            assert spec.from_float is not None and spec.float_forward is not None
        else:  # one only a .tflite brings: read, run and written back, never captured
            assert not spec.capture and spec.from_float is None and spec.float_forward is None


def test_nothing_outside_the_registry_switches_on_an_op_kind():
    """`op.kind == "..."` / `kind in (...)` of op kinds appear only in pocketml/ops (the registry's folders)."""
    kinds = set(SPECS)
    offenders = []
    for path in OPS_DIR.parent.rglob("*.py"):
        if OPS_DIR in path.parents or path.name.startswith("test_"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ".kind" in line and "st.kind" not in line and any(f'"{k}"' in line for k in kinds):  # st: a recipe stage
                offenders.append(f"{path.relative_to(OPS_DIR.parent)}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_a_layer_no_op_captures_is_named():
    with pytest.raises(PocketMLError) as info:
        capture(nn.Sequential(nn.Conv2d(4, 2, 3), nn.GELU()), torch.zeros(1, 4, 8, 8))
    assert "gelu" in str(info.value).lower() and "pocketml can deploy" in str(info.value)


def test_activation_range_relu6_and_unknown():
    q = QuantParams(6.0 / 255, -128)
    assert activation_range("relu", q) == (-128, 127)
    assert activation_range("relu6", QuantParams(0.1, -10)) == (-10, 50)
    with pytest.raises(ValueError, match="supported"):
        activation_range("gelu", q)


def test_quant_params_from_range_makes_zero_exact():
    q = QuantParams.from_range(-1.0, 3.0)
    assert q.dequantize(q.quantize(np.array([0.0])))[0] == 0.0
    with pytest.raises(ValueError):
        QuantParams(0.0, 0)
