"""The static memory plan: no two live tensors share bytes; reshapes alias; sizes are tight."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory


def _check_no_overlap(plan):
    arena = [b for b in plan.buffers if b.location == "arena"]
    for i, a in enumerate(arena):
        assert a.offset % 4 == 0 and a.offset + a.size <= plan.arena_bytes
        for b in arena[i + 1:]:
            if a.group == b.group:
                continue  # one in-place group: checked tensor by tensor (_check_tensors) and in C
            live_together = not (a.last_op < b.first_op or b.last_op < a.first_op)
            apart = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
            assert not live_together or apart, (a, b)


def test_digits_plan(digits_qgraph):
    plan = plan_memory(digits_qgraph)
    _check_no_overlap(plan)
    # without in-place ops the peak is conv1's output (1024 B) and conv2's output (2048 B) alive
    # together; conv2 (stride 1) may write overlapping its dying input, which lowers it
    separate = plan_memory(digits_qgraph, in_place=False)
    assert separate.arena_bytes == max(separate.live_bytes()) == 3072
    assert plan.arena_bytes <= 3072
    _check_tensors(digits_qgraph, plan)
    assert plan.buffer_of("flatten1") is plan.buffer_of("pool1")  # reshape aliases its input
    assert plan.buffer_of("input").location == "input" and plan.buffer_of("fc1").location == "output"


def test_random_chains_never_overlap():
    r = np.random.default_rng(0)
    for trial in range(6):
        torch.manual_seed(trial)
        layers, c = [], 1
        for _ in range(int(r.integers(2, 5))):
            c2 = int(r.integers(2, 9))
            layers += [nn.Conv2d(c, c2, 3, padding=1), nn.ReLU()]
            c = c2
        model = nn.Sequential(*layers, nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c * 16, 3)).eval()
        x = r.normal(size=(8, 1, 8, 8)).astype(np.float32)
        plan = plan_memory(quantize(capture(model, torch.as_tensor(x[:1])), x))
        _check_no_overlap(plan)
        assert plan.arena_bytes >= max(plan.live_bytes())


# -- DAGs: in-place element-wise ops, operator order (issue 4) ------------------------------------
class _Block(nn.Module):
    """conv -> conv, joined with the block's input by an add, then ReLU (fused into the add)."""

    def __init__(self, c: int, c2: int) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c2, 3, padding=1), nn.Conv2d(c2, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.b(torch.relu(self.a(x))) + x)


def _graph(model, shape, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(8, *shape)).astype(np.float32)
    return quantize(capture(model.eval(), torch.as_tensor(x[:1])), x)


def _check_order(graph, plan):
    assert sorted(plan.order) == list(range(len(graph.ops)))
    done = {graph.input}
    for i in plan.order:
        assert all(name in done for name in graph.ops[i].inputs), "op scheduled before its inputs"
        done.add(graph.ops[i].output)


def test_add_runs_in_place_over_the_dying_branch():
    torch.manual_seed(0)
    graph = _graph(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), _Block(4, 4), _Block(4, 4), nn.Flatten(),
                                 nn.Linear(4 * 36, 3)), (1, 6, 6))
    plan = plan_memory(graph)
    _check_no_overlap(plan)
    _check_order(graph, plan)
    adds = [op.name for op in graph.ops if op.kind == "add"]
    assert set(adds) <= set(plan.in_place_ops)
    for op in graph.ops:
        if op.kind == "add":  # the output shares the buffer of the conv output it overwrites
            assert plan.buffer_of(op.output) is plan.buffer_of(op.inputs[0])
    separate = plan_memory(graph, in_place=False)
    assert plan.arena_bytes <= separate.arena_bytes
    arena = [b for b in plan.buffers if b.location == "arena"]
    assert len(arena) < len([b for b in separate.buffers if b.location == "arena"])


def test_in_place_never_writes_over_the_callers_input():
    torch.manual_seed(1)
    graph = _graph(_Block(2, 3), (2, 5, 5))  # add(conv_b, input): the input is const, the branch dies
    plan = plan_memory(graph)
    assert plan.buffer_of("input").tensors == ("input",)
    _check_no_overlap(plan)


class _LateBranch(nn.Module):
    """A wide 1x1 branch computed first but read last: running it later lowers the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.early = nn.Conv2d(2, 8, 1)
        self.chain = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(6, 8, 3, padding=1))

    def forward(self, x):
        e = self.early(x)
        return self.chain(x) + e


def test_operator_order_lowers_the_peak():
    torch.manual_seed(2)
    graph = _graph(nn.Sequential(_LateBranch(), nn.Flatten(), nn.Linear(8 * 64, 2)), (2, 8, 8))
    assert [op.kind for op in graph.ops][0] == "conv2d" and graph.ops[0].weight.shape[0] == 8
    plan, as_captured = plan_memory(graph), plan_memory(graph, reorder=False)
    _check_no_overlap(plan)
    _check_order(graph, plan)
    assert plan.arena_bytes < as_captured.arena_bytes
    assert plan.order.index(0) > 0  # the early branch moved later


def test_random_residual_dags_never_overlap():
    r = np.random.default_rng(3)
    for trial in range(4):
        torch.manual_seed(trial)
        c = int(r.integers(2, 6))
        blocks = [_Block(c, int(r.integers(2, 8))) for _ in range(int(r.integers(1, 4)))]
        model = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), *blocks, nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(c * 16, 3))
        graph = _graph(model, (1, 8, 8), seed=trial)
        for reorder in (True, False):
            for in_place in (True, False):
                plan = plan_memory(graph, reorder=reorder, in_place=in_place)
                _check_no_overlap(plan)
                _check_order(graph, plan)
                assert plan.arena_bytes >= max(plan.live_bytes())


def _check_tensors(graph, plan):
    """Tensor-level: two arena tensors alive at once share bytes only as an op's in-place input/output."""
    step_of = {i: s for s, i in enumerate(plan.order)}
    first, last = {}, {}
    for i, op in enumerate(graph.ops):
        first[op.output] = step_of[i]
        for name in op.inputs:
            last[name] = max(last.get(name, -1), step_of[i])
    allowed = {(op.inputs[k], op.output) for op in graph.ops if op.kind == "reshape" or op.name in plan.in_place_ops
               for k in range(len(op.inputs))}
    arena = [t for t in graph.tensors if plan.buffer_of(t).location == "arena"]
    for a in arena:
        for b in arena:
            if a >= b:
                continue
            ta, tb = (first[a], last.get(a, first[a])), (first[b], last.get(b, first[b]))
            oa, ob = plan.offset_of(a), plan.offset_of(b)
            assert 0 <= oa and oa + graph.tensors[a].nbytes <= plan.arena_bytes
            together = not (ta[1] < tb[0] or tb[1] < ta[0])
            share = oa < ob + graph.tensors[b].nbytes and ob < oa + graph.tensors[a].nbytes
            if together and share:
                assert (a, b) in allowed or (b, a) in allowed, (a, b, ta, tb, oa, ob)


def test_stride1_convs_write_overlapping_their_dying_input():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
                          nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 36, 2))
    graph = _graph(model, (1, 12, 12))
    plan = plan_memory(graph)
    assert {"dwconv1", "conv2"} <= set(plan.in_place_ops)
    assert plan.arena_bytes < plan_memory(graph, in_place=False).arena_bytes
    _check_no_overlap(plan)
    _check_tensors(graph, plan)


def test_every_plan_is_tensor_safe():
    for trial in range(3):
        torch.manual_seed(trial)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), _Block(4, 3), nn.Conv2d(4, 4, 3, padding=1, groups=4),
                              nn.ReLU(), nn.Conv2d(4, 6, 1), _LateBranchFree(6), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(6 * 16, 3))
        graph = _graph(model, (1, 8, 8), seed=trial)
        for reorder in (True, False):
            plan = plan_memory(graph, reorder=reorder)
            _check_tensors(graph, plan)
            _check_order(graph, plan)


class _LateBranchFree(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.a(x)) + self.b(x)


def test_stride1_convs_written_over_their_dying_inputs_stay_exact(tmp_path):
    """The planner writes these stride-1 convs overlapping their dying inputs (shifted in place):
    C under sanitizers and TFLite Micro still equal the reference."""
    from pocketml.deploy.verify.conformance import check_op

    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
        nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.MaxPool2d(2))
    errors = check_op(model, (1, 12, 12), tmp_path)
    plan = plan_memory(errors["graph"])
    assert plan.in_place_ops, "no conv was planned over its input: the test checks nothing"
    assert errors["mean_err_lsb"] < 1.0, errors
