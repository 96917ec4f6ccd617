"""The networks people deploy shrink for a board and verify (issue 21): small versions of
MobileNetV3-small, SqueezeNet 1.1 and a 1-D CNN with pooling, random weights (the shapes and ops
are what is under test). Full-size runs: ``bench/reference_nets.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pocketml
from pocketml.deploy.verify.bundle import load_bundle
from pocketml.models.reference import CNN1D, MobileNetV3Small, SqueezeNet11

NETS = {
    "mobilenetv3-small": (lambda: MobileNetV3Small(classes=10, width=0.25, head=64), (3, 48, 48)),
    "squeezenet1.1": (lambda: SqueezeNet11(classes=10, width=0.125), (3, 48, 48)),
    "cnn1d": (lambda: CNN1D(channels=3, classes=6), (3, 64)),
}


@pytest.mark.parametrize("net", list(NETS))
def test_shrinks_for_a_board_and_verifies(net, tmp_path):
    build, shape = NETS[net]
    torch.manual_seed(0)
    model = build().eval()
    x = np.random.default_rng(0).normal(size=(24, *shape)).astype(np.float32)
    result = pocketml.shrink(model, x[:16], (x[16:], None), "nano33ble", tmp_path / net, name=net.replace(".", "_"),
                             report=False)
    assert result.c_mismatches == 0
    bundle = load_bundle(tmp_path / net)  # the OUT folder re-loads (constant operands included)
    assert np.array_equal(bundle.graph.run_flat(bundle.inputs[:2]), result_graph_run(bundle))


def result_graph_run(bundle) -> np.ndarray:
    """The C in OUT/c/ on the saved inputs (what `pocketml verify` compares)."""
    from pocketml.deploy.c import build_host, run_host

    return run_host(build_host(bundle.c_dir), bundle.inputs[:2], bundle.graph.output_bytes)
