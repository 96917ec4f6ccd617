"""Mutation fuzz of ``shrink --data`` (issue #17): 300 damaged ``.npz`` files, each a clean error or a
correct run (``tests/npz_fuzz.py`` says how; ``bench/fuzz_npz.py`` runs more and prints the counts)."""

from __future__ import annotations

import numpy as np
import torch
from npz_fuzz import call_main, fuzz
from torch import nn


def test_damaged_npz_files_end_in_a_clean_error_or_a_correct_run(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
    model = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 6, 6),)), model)
    r = np.random.default_rng(0)
    x = r.normal(size=(24, 1, 6, 6)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x_train=x, x_test=x[:12], y_test=r.integers(0, 3, 12))

    def cli(data, out):
        code, _, err = call_main("shrink", "--model", model, "--data", data, "--device", "pico", "--out", out)
        return code, err

    def run(data):
        out = tmp_path / f"run-{data.stem}"
        code, _, err = call_main("shrink", "--model", model, "--data", data, "--device", "pico", "--out", out)
        assert code == 0 or (code == 1 and "Traceback" not in err and not out.exists()), err
        return code

    counts = fuzz(tmp_path / "data.npz", 300, seed=0, work=tmp_path, cli=cli, run=run, run_budget=1)
    assert counts.crashes == [], counts.crashes[:5]
    assert counts.cases == 300 and counts.clean_errors + counts.unchanged + counts.ran + counts.not_run == 300
    assert counts.clean_errors > 200  # most damage must be caught, and by name
    assert set(counts.kinds) >= {"flip", "truncate", "shape", "dtype", "header-flip"}
