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
            live_together = not (a.last_op < b.first_op or b.last_op < a.first_op)
            apart = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
            assert not live_together or apart, (a, b)


def test_digits_plan(digits_qgraph):
    plan = plan_memory(digits_qgraph)
    _check_no_overlap(plan)
    # the peak is conv1's output (1024 B) and conv2's output (2048 B) alive together
    assert plan.arena_bytes == max(plan.live_bytes()) == 3072
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
