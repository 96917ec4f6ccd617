"""check_op: the conformance suite every op passes (reference == C under sanitizers, close to float).

Both C variants: the portable C, and where an op has one, the DSP kernels built for speed and for
size, compiled for the host against tests/acle/arm_acle.h (an emulation of the intrinsics).

Used by test_ops.py; a new op adds its configurations there, not a new harness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pocketml.compress.quantize import quantize
from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import KernelTarget
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory

SANITIZE = "-std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
ACLE = Path(__file__).parent / "acle"  # the ACLE emulation the DSP kernels compile against on the host (tests only)
DSP_TARGETS = (KernelTarget(True, "speed"),)  # size builds: tests/test_dsp_kernels.py


def check_dsp_variants(graph, plan, xq: np.ndarray, ref: np.ndarray, tmp: Path) -> list[str]:
    """Both DSP builds (speed, size) under ASan/UBSan on the host (tests/acle emulates the
    intrinsics) must equal the reference; returns the DSP kernels they used (empty: none applies)."""
    used: list[str] = []
    for target in DSP_TARGETS:
        src = emit_c(graph, plan, kernels=target)
        kernels = sorted(k for k in src.files if k.endswith("_dsp.h") and k != "pocketml_dsp.h")
        if not kernels:
            return []
        used = kernels
        folder = tmp / target.label
        folder.mkdir(exist_ok=True)
        for name, text in src.files.items():
            (folder / name).write_text(text)
        got = run_host(build_host(folder, cflags=f"{SANITIZE} -I{ACLE}"), xq, ref.shape[1])
        assert np.array_equal(got, ref), f"the {target.label} C differs from the int8 reference"
    return used


def check_op(module: torch.nn.Module, input_shape: tuple[int, ...], tmp: Path, seed: int = 0,
             n: int = 64) -> dict:
    """Quantize ``module``, then require C == reference on ``n`` random inputs; return the errors."""
    torch.manual_seed(seed)
    r = np.random.default_rng(seed)
    for m in module.modules():  # make BatchNorm statistics non-trivial
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    module.eval()
    x = r.normal(size=(n, *input_shape)).astype(np.float32)
    graph = quantize(capture(module, torch.as_tensor(x[:1]), "op_under_test"), x)
    xq = graph.quantize_input(x)
    ref = graph.run(xq)

    plan = plan_memory(graph)
    src = emit_c(graph, plan)
    for name, text in src.files.items():
        (tmp / name).write_text(text)
    c_out = run_host(build_host(tmp, cflags=SANITIZE), xq, graph.output_info.nbytes)
    assert np.array_equal(c_out, ref.reshape(n, -1)), "C differs from the int8 reference"
    dsp = check_dsp_variants(graph, plan, xq, ref.reshape(n, -1), tmp)

    with torch.no_grad():
        want = module(torch.as_tensor(x)).numpy()
    if want.ndim == 4:
        want = want.transpose(0, 2, 3, 1)
    elif want.ndim == 3:  # [N, C, W] signal -> the graph's [N, 1, W, C]
        want = want.transpose(0, 2, 1)
    got = graph.output_info.quant.dequantize(ref)
    err = np.abs(got - want.reshape(got.shape))
    return {"max_err_lsb": float(err.max() / graph.output_info.quant.scale),
            "mean_err_lsb": float(err.mean() / graph.output_info.quant.scale), "graph": graph, "dsp": dsp}
