"""The generated C as a firmware engineer meets it: golden files, C++ callers, hostile names.

* Golden files: ``model.c`` / ``model.h`` of two small models (built op by op, no training, so
  deterministic) are diffed against ``tests/golden/``; any change to generated code shows up in
  review. After an intended change: ``POCKETML_UPDATE_GOLDEN=1 pytest tests/test_generated_c.py``.
* ``model.h`` links from C++ (every Arduino sketch is C++): ``extern "C"`` guards.
* A hostile model name (``*/``, newlines, quotes) never reaches the generated C: names become
  C identifiers through one sanitizer, and a name that cannot is refused.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from tflite_models import GraphBuilder

from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget
from pocketml.deploy.c.emit import c_identifier
from pocketml.errors import PocketMLError
from pocketml.graph.planner import plan_memory

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("POCKETML_UPDATE_GOLDEN") == "1"


def chain_model():
    """conv (ReLU6) → max pool → flatten → FC → softmax: the classic small classifier."""
    b = GraphBuilder("tiny_chain", (6, 6, 2), seed=3)
    x = b.conv(b.input, 4, k=3, mode="same", act="relu6")
    x = b.pool(x, "maxpool", k=2, stride=2)
    x = b.reshape(x, (36,))
    return b.graph(b.softmax(b.fc(x, 5)))


def branches_model():
    """depthwise, residual add, concat, pad, mean, and two outputs."""
    b = GraphBuilder("tiny_branches", (5, 5, 3), seed=4)
    x = b.conv(b.input, 4, k=1, mode="valid")
    y = b.depthwise(x, k=3, mode="same", act="relu")
    z = b.add(x, y, act="relu")
    c = b.concat([b.conv(z, 2, k=1, mode="valid", quant=b.tensors[z].quant), z])
    p = b.pad(c, ((1, 0), (0, 1)))
    return b.graph((b.mean(p), b.relu(c)))


MODELS = {"tiny_chain": chain_model, "tiny_branches": branches_model}
GOLDENS = {**{name: (build, PORTABLE) for name, build in MODELS.items()},
           "tiny_branches_dsp_speed": (branches_model, KernelTarget(True, "speed")),  # a Cortex-M4's C
           "tiny_chain_dsp_size": (chain_model, KernelTarget(True, "size"))}


@pytest.mark.parametrize("model", list(GOLDENS))
def test_generated_c_matches_the_golden_files(model):
    build, kernels = GOLDENS[model]
    graph = build()
    source = emit_c(graph, plan_memory(graph), kernels=kernels)
    for fname in ("model.c", "model.h"):
        golden = GOLDEN / model / fname
        text = source.files[fname]
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        want = golden.read_text()
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), str(golden), "generated"))
        assert not diff, ("the generated C changed; if that is intended, review the diff and rerun with "
                          f"POCKETML_UPDATE_GOLDEN=1\n{diff[:4000]}")


def test_generated_c_uses_designated_initialisers_and_parenthesised_macros():
    source = emit_c(chain_model(), plan_memory(chain_model()))
    assert ".in_h = 6" in source.files["model.c"] and ".rq = {\n        .multiplier = " in source.files["model.c"]
    header = source.files["model.h"]
    assert 'extern "C"' in header
    assert "_ZERO_POINT (" in header and "_SCALE (" in header and "_BYTES (" in header


CPP_MAIN = r"""// A C++ caller (as an Arduino sketch is): includes model.h, links the C objects.
#include <cstdio>
#include "model.h"

int main() {
  static int8_t in[TINY_CHAIN_INPUT_BYTES], out[TINY_CHAIN_OUTPUT_BYTES];
  while (std::fread(in, 1, sizeof in, stdin) == sizeof in) {
    if (tiny_chain_invoke(in, out) != 0) return 2;
    std::fwrite(out, 1, sizeof out, stdout);
  }
  return 0;
}
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_model_h_links_from_cpp(tmp_path):
    graph = chain_model()
    source = emit_c(graph, plan_memory(graph))
    for fname, text in source.files.items():
        (tmp_path / fname).write_text(text)
    (tmp_path / "main.cpp").write_text(CPP_MAIN)
    c_files = [f for f in source.files if f.endswith(".c") and f != "main.c"]
    for f in c_files:
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-c", f], cwd=tmp_path, check=True)
    objects = [f.replace(".c", ".o") for f in c_files]
    proc = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "main.cpp", *objects, "-o", "cpp_run"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    x = np.random.default_rng(0).integers(-128, 128, size=(20, *graph.input_info.shape), dtype=np.int8)
    out = run_host(tmp_path / "cpp_run", x, graph.output_bytes)
    assert np.array_equal(out, graph.run_flat(x))


HOSTILE = ["evil */ int injected = 1; /*", "name\n#include <stdlib.h>\nvoid f(void) { abort(); }", 'quote"s',
           "123start", "a" * 64]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_never_reach_the_c(name, tmp_path):
    graph = chain_model()
    source = emit_c(graph, plan_memory(graph), name)
    ident = c_identifier(name)
    assert ident == source.prefix and ident.replace("_", "").isalnum() and not ident[0].isdigit()
    for fname, text in source.files.items():
        for line in name.splitlines():
            if len(line) > 3 and not line.replace("_", "").isalnum():
                assert line not in text, f"{fname} holds the raw name {line!r}"
    for fname, text in source.files.items():
        (tmp_path / fname).write_text(text)
    x = np.zeros((2, *graph.input_info.shape), np.int8)
    assert np.array_equal(run_host(build_host(tmp_path), x, graph.output_bytes), graph.run_flat(x))


@pytest.mark.parametrize("name", ["", "*/", "\n\n", "_", "a" * 65])
def test_names_that_cannot_be_identifiers_are_refused(name):
    with pytest.raises(PocketMLError, match="C identifier"):
        c_identifier(name)
