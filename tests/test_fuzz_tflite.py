"""Damaged .tflite files (issue 17): a seeded mutation fuzz test, under a minute.

Every one of 300 mutants of a small model is either refused by the reader with one short clear
message, or read into a graph whose reference equals TFLite Micro running the mutant byte for byte.
A sample then goes through the real entry point (``pocketml compile``, ``main()``): a refused
mutant exits 1 with no traceback and no OUT folder; a readable one compiles and verifies (exit 0)
or, where TFLite Micro itself refuses it, exits 1 cleanly with nothing written.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from tflite_models import GraphBuilder, spec_of

from pocketml.deploy.verify.fuzz import fuzz, mutate


def small_model() -> bytes:
    b = GraphBuilder("fuzzme", (6, 6, 2), seed=5)
    x = b.conv(b.input, 4, k=3, mode="same", act="relu")
    x = b.depthwise(x, k=3, mode="same", act="relu6")
    x = b.pool(x, "maxpool", k=2, stride=2)
    x = b.reshape(x, (36,))
    return spec_of(b.graph(b.softmax(b.fc(x, 5)))).serialise()


@pytest.fixture(scope="module")
def outcome():
    return fuzz(small_model(), cases=300, seed=0)


def test_every_mutant_is_refused_cleanly_or_exact_with_tflite_micro(outcome):
    assert not outcome.crashed, {k: outcome.messages[k] for k in outcome.crashed[:5]}
    assert not outcome.disagree, outcome.disagree
    assert len(outcome.refused) > 100 and len(outcome.exact) > 20  # the mutator reaches both ends
    assert outcome.cases == len(outcome.refused) + len(outcome.exact) + len(outcome.tflm_refused)


def _compile(path, out):
    return subprocess.run([sys.executable, "-c", "from pocketml.cli import main; main()", "compile", str(path),
                           "--out", str(out), "--samples", "8", "--device", "rpi4"],
                          capture_output=True, text=True, timeout=300)


def test_mutants_through_the_real_entry_point(outcome, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    mutants = [mutate(small_model(), rng)[0] for _ in range(outcome.cases)]
    picks = [*outcome.refused[:3], *outcome.tflm_refused[:1], *outcome.exact[:2]]
    for k in picks:
        path, out = tmp_path / f"m{k}.tflite", tmp_path / f"out{k}"
        path.write_bytes(mutants[k])
        proc = _compile(path, out)
        assert "Traceback" not in proc.stderr, proc.stderr
        if k in outcome.exact:
            assert proc.returncode == 0, proc.stderr
            assert (out / "result.json").is_file()
        else:
            assert proc.returncode == 1 and "error:" in proc.stderr, proc.stderr
            assert not out.exists()
