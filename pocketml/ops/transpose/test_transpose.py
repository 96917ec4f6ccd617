"""TRANSPOSE: permutations of 2, 3 and 4 per-sample axes through check_op (reference == C under
sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import pytest

from pocketml.deploy.verify.conformance import check_op, one_op_graph, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.transpose import Transpose

Q = QuantParams(0.05, -3)


@pytest.mark.parametrize("shape,perm", [
    ((3, 4, 5), (2, 0, 1)),        # CHW -> HWC, what a PyTorch-converted model starts with
    ((3, 4, 5), (1, 0, 2)),
    ((2, 3, 4, 5), (3, 1, 0, 2)),
    ((6, 7), (1, 0)),
])
def test_permutations(shape, perm, tmp_path):
    t = tensors(x=(shape, Q), y=(tuple(shape[p] for p in perm), Q))
    check_op(one_op_graph(Transpose("t", ("x",), "y", perm), t), (), tmp_path)


def test_golden():
    t = tensors(x=((2, 3), Q), y=((3, 2), Q))
    assert run_op(Transpose("t", ("x",), "y", (1, 0)), t, [[1, 2, 3], [4, 5, 6]]).tolist() == [[1, 4], [2, 5], [3, 6]]


def test_prepare_rejects_a_non_permutation():
    with pytest.raises(ValueError, match="not a permutation"):
        Transpose("t", ("x",), "y", (0, 0)).prepare(tensors(x=((2, 3), Q), y=((2, 3), Q)))
