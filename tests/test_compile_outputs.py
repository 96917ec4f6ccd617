"""Models with several outputs, end to end: .tflite files with two or three outputs (written by
pocketml's own writer) read into one graph, planned so no output's bytes are reused, emitted as C
with one buffer per output, and checked output by output against TFLite Micro running the file.

Variants: two heads off a shared trunk (a softmax classifier and a conv feature map), int8 and
with float32 (DEQUANTIZE) outputs; an output that later ops also read (an element-wise RELU that
would otherwise run in place over it, a pool) next to an output that is itself read by MEAN.
"""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from rich.console import Console
from tflite_models import GraphBuilder, float_outputs, spec_of

from pocketml import PocketMLError, compile
from pocketml.deploy.c.build import build_host, run_host
from pocketml.deploy.c.emit import c_identifier
from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.verify import load_bundle, verify
from pocketml.deploy.verify.compare import _layer_divergence
from pocketml.graph.planner import plan_memory
from pocketml.pipeline.from_tflite import random_inputs, run_source_in_tflm
from pocketml.report.verify import print_verify

SANITIZE = "-std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"


def two_heads_model():
    """A shared trunk and two heads: pool → FC → softmax (classifier) and a 1x1 conv feature map."""
    b = GraphBuilder("two_heads", (10, 10, 3), seed=4)
    t = b.conv(b.input, 8, k=3, stride=2, mode="same", act="relu")  # 5x5x8
    t = b.depthwise(t, k=3, mode="same", act="relu6")
    c = b.reshape(b.pool(t, "avgpool", k=5, stride=1, mode="valid"), (8,))
    classes = b.softmax(b.fc(c, 4))
    features = b.conv(t, 6, k=1, mode="valid")  # 5x5x6
    return b.graph((classes, features))


def tapped_model():
    """Three outputs: ``a`` is also read by a RELU, its last reader, which would otherwise run in
    place over it (a dying input of its size); ``z`` is also read by MEAN; the FC is output 0."""
    b = GraphBuilder("tapped", (8, 8, 4), seed=5)
    a = b.conv(b.input, 8, k=3, mode="same")  # 8x8x8: output 1, and the RELU's input
    r = b.relu(a)
    y = b.conv(r, 8, k=3, mode="same", act="relu")
    y = b.pool(y, "maxpool", k=2, stride=2)  # 4x4x8
    z = b.add(y, b.pool(r, "avgpool", k=2, stride=2))  # output 2, read by MEAN below
    logits = b.fc(b.mean(z), 5)
    return b.graph((logits, a, z))


VARIANTS = {  # name: (model, output positions given a float32 DEQUANTIZE edge)
    "two-heads-int8": (two_heads_model, ()),
    "two-heads-float-outputs": (two_heads_model, (0, 1)),
    "tapped-mixed-edges": (tapped_model, (1,)),
}


def _write(name, folder):
    build, floats = VARIANTS[name]
    graph = build()
    spec = spec_of(graph)
    float_outputs(spec, floats)
    path = folder / f"{name}.tflite"
    path.write_bytes(spec.serialise())
    return graph, path


def test_graph_keeps_the_single_output_view_and_names_several():
    graph = tapped_model()
    assert graph.outputs == ("fc7", "conv0", "add5")
    assert [i.shape for i in graph.output_infos] == [(5,), (8, 8, 8), (4, 4, 8)]
    assert graph.output_bytes == 5 + 512 + 128
    with pytest.raises(PocketMLError, match="has 3 outputs"):
        _ = graph.output
    x = np.random.default_rng(0).integers(-128, 128, (3, 8, 8, 4), dtype=np.int8)
    outs = graph.run_outputs(x)
    assert np.array_equal(graph.run_flat(x), np.concatenate([o.reshape(3, -1) for o in outs], axis=1))
    single = GraphBuilder("one", (4, 4, 2)).graph("input")  # a one-output graph is unchanged
    assert single.outputs == ("input",) and single.output == "input"


def test_planner_gives_every_output_its_own_caller_buffer():
    graph = tapped_model()
    plan = plan_memory(graph)
    held = [plan.buffer_of(name) for name in graph.outputs]
    assert all(b.location == "output" for b in held)
    assert len({id(b) for b in held}) == 3  # three distinct caller buffers
    arena = {t for b in plan.buffers if b.location == "arena" for t in b.tensors}
    assert not arena & set(graph.outputs)  # no arena byte of an output is ever reused
    assert "relu1" not in plan.in_place_ops  # the RELU must not write over the output it reads
    assert plan.arena_bytes > 0


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_output_is_bit_exact_with_tflite_micro(variant, tmp_path):
    graph, path = _write(variant, tmp_path)
    imp = read_tflite(path)
    assert imp.graph.outputs and len(imp.graph.outputs) == len(graph.outputs)
    assert [e.dtype for e in imp.outputs] == ["float32" if k in VARIANTS[variant][1] else "int8"
                                              for k in range(len(graph.outputs))]
    x = random_inputs(imp, 50, seed=2)
    ref = imp.graph.run_flat(x)
    assert np.array_equal(ref, graph.run_flat(x))  # the graph we wrote, read back
    tflm = run_source_in_tflm(path, imp, x)
    assert tflm.shape == (50, graph.output_bytes) and np.array_equal(tflm, ref)
    for out in imp.graph.run_outputs(x):
        assert len(np.unique(out)) > 3  # no saturated constant head


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every variant compiled once for a Cortex-M4 board: {variant: (graph, OUT, result.json)}."""
    folder = tmp_path_factory.mktemp("outputs")
    done = {}
    for name in VARIANTS:
        graph, path = _write(name, folder)
        out = folder / f"out-{name}"
        compile(path, "nano33ble", out, samples=40)
        done[name] = (graph, out, json.loads((out / "result.json").read_text()))
    return done


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_compile_checks_every_output_everywhere(variant, compiled):
    graph, out, doc = compiled[variant]
    n = len(graph.outputs)
    assert doc["c_mismatches"] == 0 and doc["verify"]["exact"] is True
    source = doc["verify"]["source_tflm"]
    assert source["mismatching_samples"] == 0 and source["mismatching_samples_per_output"] == [0] * n
    for rt in ("reference", "c", "tflm"):
        assert doc["verify"]["runtimes"][rt]["mismatching_samples_per_output"] == [0] * n, rt
    deploy = next(s for s in doc["stages"] if s["name"] == "deploy-c")
    assert deploy["c_mismatches_per_output"] == [0] * n
    if doc["cortexm"] is not None:  # the Cortex-M build runs the packed entry in QEMU
        assert doc["cortexm"]["qemu_mismatches"] == 0
    assert [o["shape"] for o in doc["outputs"]] == [list(i.shape) for i in graph.output_infos]
    assert doc["output"] == doc["outputs"][0]
    read = next(s for s in doc["stages"] if s["name"] == "read-tflite")
    assert [e["dtype"] for e in read["outputs"]] == ["float32" if k in VARIANTS[variant][1] else "int8"
                                                     for k in range(n)]
    header = (out / "c" / "model.h").read_text()
    p = c_identifier(doc["model"])
    assert f"int {p}_invoke_outputs(const int8_t *input, " + ", ".join(f"int8_t *output{k}" for k in range(n)) in header
    offset = 0
    for k, info in enumerate(graph.output_infos):
        assert f"#define {p.upper()}_OUTPUT{k}_BYTES ({info.nbytes}) " in header
        assert f"#define {p.upper()}_OUTPUT{k}_OFFSET ({offset}) " in header
        assert f"#define {p.upper()}_OUTPUT{k}_SCALE ({info.quant.scale!r}f)" in header
        offset += info.nbytes
    assert f"#define {p.upper()}_OUTPUT_BYTES ({graph.output_bytes}) " in header


USER_MAIN = r"""/* A user's program: each output into its own buffer, under ASan/UBSan. */
#include <stdio.h>
#include "model.h"

int main(void) {
  static int8_t input[@P@_INPUT_BYTES];
@BUFFERS@
  while (fread(input, 1, sizeof input, stdin) == sizeof input) {
    if (@p@_invoke_outputs(input, @ARGS@) != 0) {
      return 2;
    }
@WRITES@
  }
  if (@p@_invoke_outputs(input, @NULL_ARGS@) != -1) {
    return 5;
  }
  return 0;
}
"""


def test_the_c_api_writes_each_output_into_its_own_buffer_under_sanitizers(compiled, tmp_path):
    graph, out, doc = compiled["tapped-mixed-edges"]
    p, n = c_identifier(doc["model"]), len(graph.outputs)
    for f in (out / "c").iterdir():
        if f.suffix in (".c", ".h") or f.name == "Makefile":
            (tmp_path / f.name).write_text(f.read_text())
    main = (USER_MAIN.replace("@P@", p.upper()).replace("@p@", p)
            .replace("@BUFFERS@", "\n".join(f"  static int8_t out{k}[{p.upper()}_OUTPUT{k}_BYTES];" for k in range(n)))
            .replace("@ARGS@", ", ".join(f"out{k}" for k in range(n)))
            .replace("@NULL_ARGS@", ", ".join("0" if k == n - 1 else f"out{k}" for k in range(n)))
            .replace("@WRITES@", "\n".join(f"    fwrite(out{k}, 1, sizeof out{k}, stdout);" for k in range(n))))
    (tmp_path / "main.c").write_text(main)
    binary = build_host(tmp_path, cflags=SANITIZE)
    x = np.random.default_rng(7).integers(-128, 128, (12, *graph.input_info.shape), dtype=np.int8)
    proc = subprocess.run([str(binary)], input=x.tobytes(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    got = np.frombuffer(proc.stdout, np.int8).reshape(12, -1)
    assert np.array_equal(got, graph.run_flat(x))
    packed_dir = tmp_path / "packed"  # the generated harness: <prefix>_invoke, outputs packed at odd offsets
    packed_dir.mkdir()
    for f in (out / "c").iterdir():
        if f.suffix in (".c", ".h") or f.name == "Makefile":
            (packed_dir / f.name).write_text(f.read_text())
    assert np.array_equal(run_host(build_host(packed_dir, cflags=SANITIZE), x, graph.output_bytes), graph.run_flat(x))
    model_c = (tmp_path / "model.c").read_text()
    assert "malloc" not in model_c and re.search(rf"int {p}_invoke\(const int8_t \*input, int8_t \*output\)", model_c)


def test_verify_layers_names_the_first_differing_layer_in_either_head(compiled):
    graph, out, _ = compiled["two-heads-int8"]
    report = verify(out, "reference,c,tflm", layers=True, probe_arena=False, latency=False)
    assert report.exact and all(p.first is None for p in report.layers)
    assert report.check("tflm").per_output == (0, 0)
    console = Console(record=True, width=200)
    print_verify(report, console)
    text = console.export_text()
    assert "per output" in text and "0 (0 / 0)" in text
    # a reference that is off by one in one head only: the pair reference/TFLite Micro must name
    # that head's last op as the first differing layer, whichever output it is
    bundle = load_bundle(out)
    g = bundle.graph
    for k, name in enumerate(g.outputs):
        producer = next(op for op in g.ops if op.output == name)
        original = type(g).run_layers.__get__(g)

        def off_by_one(x, name=name, original=original):
            values = dict(original(x))
            values[name] = (values[name].astype(np.int16) ^ 1).astype(np.int8)
            return values

        g.run_layers = off_by_one
        try:
            (pair,) = _layer_divergence(bundle, ["tflm"])
        finally:
            del g.run_layers
        assert pair.first is not None and pair.first.layer == producer.name, k
        assert [d.layer for d in pair.per_layer if d.elements_differing] == [producer.name]
