"""Compression (issue 5): weight formats (numpy == C under ASan/UBSan), recipes, bad input, QAT arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml import PocketMLError
from pocketml.compress.budget import parse_bytes
from pocketml.compress.distill import check_student, derive_student
from pocketml.compress.encoding import encode, encode_smallest, pack, qmax, unpack
from pocketml.compress.mirror import GraphModule, fake_quant_weight
from pocketml.compress.quantize import quantize, quantize_weights
from pocketml.compress.recipe import BUILTIN_RECIPES, Recipe, StageSpec, get_recipe
from pocketml.compress.runner import const_bytes, run_recipe, weight_storage
from pocketml.data.dataset import Split
from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory

SANITIZE = "-std=c99 -Wall -Wextra -Werror -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"


def _weights(bits: int, n: int, sparsity: float, seed: int = 0) -> np.ndarray:
    r = np.random.default_rng(seed)
    w = r.integers(-qmax(bits), qmax(bits) + 1, n).astype(np.int8)
    w[r.random(n) < sparsity] = 0
    return w


@pytest.mark.parametrize("bits", [8, 4, 2])
@pytest.mark.parametrize("fmt", ["dense", "sparse", "huffman"])
@pytest.mark.parametrize("n", [1, 7, 100])
def test_every_format_round_trips(bits, fmt, n):
    w = _weights(bits, n, 0.6, seed=n)
    enc = encode(w, bits, fmt)
    assert np.array_equal(enc.decode(), w)
    assert enc.nbytes == sum(a.nbytes for a in enc.arrays.values())


def test_packing_is_two_or_four_per_byte():
    assert pack(np.array([1, -1, -7, 7]), 4).tolist() == [0xF1, 0x79]
    assert pack(np.array([1, -1, 0, 1, -1]), 2).tolist() == [0b01001101, 0b11]
    assert unpack(pack(np.arange(-7, 8), 4), 4, 15).tolist() == list(range(-7, 8))
    assert encode(np.zeros(100, np.int8), 4, "dense").nbytes == 50
    assert encode(np.zeros(100, np.int8), 2, "dense").nbytes == 25


def test_sparse_and_huffman_are_chosen_only_when_smaller():
    dense = _weights(8, 1000, 0.0)
    assert encode_smallest(dense, 8, ("dense", "sparse", "huffman")).format in ("dense", "huffman")
    sparse = _weights(4, 1000, 0.9)
    enc = encode_smallest(sparse, 4, ("dense", "sparse"))
    assert enc.format == "sparse" and enc.nbytes < 500
    assert encode_smallest(sparse, 4, ("dense", "sparse", "huffman")).nbytes <= enc.nbytes


def test_one_symbol_huffman_still_decodes():
    w = np.zeros(37, np.int8)
    enc = encode(w, 4, "huffman")
    assert enc.max_len == 1 and np.array_equal(enc.decode(), w)


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(48, 2, 4, 4)).astype(np.float32)
    return _Tiny().eval(), x


@pytest.mark.parametrize("bits,fmt", [(4, "dense"), (2, "dense"), (4, "sparse"), (8, "huffman"), (2, "huffman")])
def test_c_decoders_match_the_reference_under_sanitizers(tiny, tmp_path, bits, fmt):
    model, x = tiny
    graph = capture(model, torch.as_tensor(x[:1]), "tiny")
    mirror = GraphModule(graph)
    for name in mirror.layer_names:  # make some zeros so sparse formats have something to skip
        mirror.masks[name] = torch.rand(mirror.weights[name].shape, generator=torch.Generator().manual_seed(1)) > 0.5
    qgraph = quantize(mirror.float_graph(), x, {"conv1": bits, "fc1": bits})
    weights = {op.name: encode(op.weight, bits, fmt) for op in qgraph.ops if hasattr(op, "weight")}
    for op in qgraph.ops:
        if op.name in weights:
            assert np.array_equal(weights[op.name].decode(), op.weight.ravel())
            assert np.abs(op.weight.astype(int)).max() <= qmax(bits)
    source = emit_c(qgraph, plan_memory(qgraph), "tiny", weights=weights)
    assert source.const_bytes == const_bytes(qgraph, weights)
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    xq = qgraph.quantize_input(x)
    c_out = run_host(build_host(tmp_path, cflags=SANITIZE), xq, qgraph.output_info.nbytes)
    assert np.array_equal(c_out, qgraph.run(xq).reshape(len(x), -1))


def test_weight_storage_leaves_plain_int8_layers_alone(digits_qgraph):
    assert weight_storage(digits_qgraph, {}, ("dense", "sparse")) == {}
    assert const_bytes(digits_qgraph, {}) == emit_c(digits_qgraph, plan_memory(digits_qgraph)).const_bytes


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_fake_quant_weights_are_the_deploy_weights(bits):
    w = torch.randn(6, 3, 3, 3, generator=torch.Generator().manual_seed(bits))
    fq, scale = fake_quant_weight(w, bits)
    q, s = quantize_weights(w.numpy(), bits)
    assert np.allclose(scale.numpy(), s)
    assert np.allclose(fq.detach().numpy(), q.astype(np.float64) * s.astype(np.float64)[:, None, None, None], atol=1e-6)


def test_fake_quant_module_predicts_like_the_integer_reference(digits_trained):
    model, data = digits_trained
    graph = capture(model, torch.as_tensor(data.train.x[:1]), "d")
    mirror = GraphModule(graph)
    mirror.bits = dict.fromkeys(mirror.layer_names, 4)
    mirror.calibrate(data.train.x)
    mirror.fake_quant = True
    with torch.no_grad():
        fq = mirror(torch.as_tensor(data.test.x)).numpy()
    qgraph = quantize(mirror.float_graph(), data.train.x, dict.fromkeys(mirror.layer_names, 4))
    ref = qgraph.output_info.quant.dequantize(qgraph.run(qgraph.quantize_input(data.test.x)))
    assert np.mean(fq.argmax(1) == ref.argmax(1)) >= 0.99  # only the fixed-point rescale's rounding differs
    assert np.max(np.abs(fq - ref)) <= 3 * qgraph.output_info.quant.scale


# -- recipes and bad input --------------------------------------------------------------------

def test_builtin_recipes_validate_and_round_trip_through_toml(tmp_path):
    for recipe in BUILTIN_RECIPES.values():
        path = tmp_path / f"{recipe.name}.toml"
        path.write_text(recipe.to_toml())
        assert get_recipe(str(path)).stages == recipe.validate().stages
    assert get_recipe(None).name == "int8"
    assert [s.kind for s in get_recipe("deep").stages] == ["prune", "qat", "huffman"]


@pytest.mark.parametrize("stages,problem", [
    ((StageSpec("squeeze"),), "unknown stage 'squeeze'"),
    ((StageSpec("prune", {"sparsity": 1.0}),), "outside [0, 1)"),
    ((StageSpec("prune", {"sparsity": -0.1}),), "outside [0, 1)"),
    ((StageSpec("qat", {"bits": 3}),), "weight bit width 3 cannot be run"),
    ((StageSpec("quantize", {"bits": 16}),), "weight bit width 16"),
    ((StageSpec("distill", {"width": 1.5}),), "larger than its teacher"),
    ((StageSpec("prune", {"sparsty": 0.5}),), "unknown setting"),
    ((StageSpec("prune"), StageSpec("distill")), "must come before"),
    ((StageSpec("qat"), StageSpec("quantize")), "quantizes 2 times"),
])
def test_bad_recipes_fail_before_any_training(stages, problem, digits_trained, monkeypatch):
    import pocketml.compress.runner as runner

    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(runner, "finetune", no_training)
    monkeypatch.setattr(runner, "prune_unstructured", no_training)
    model, data = digits_trained
    with pytest.raises(PocketMLError) as err:
        run_recipe(Recipe("bad", stages), model, data.train.x, data.train, data.test)
    assert problem in err.value.problem


def test_unknown_recipe_and_bad_toml_name_the_fix(tmp_path):
    with pytest.raises(PocketMLError, match="unknown recipe 'deeep'"):
        get_recipe("deeep")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[stage]]\nkind = "prune"\nsparsity = "lots"\n')
    with pytest.raises(PocketMLError, match="should be a float"):
        get_recipe(str(bad))


def test_a_training_recipe_needs_labels(digits_trained):
    model, data = digits_trained
    with pytest.raises(PocketMLError, match="no labelled training data"):
        run_recipe(get_recipe("qat-int4"), model, data.train.x, None, data.test)


def test_flash_budgets_parse():
    assert parse_bytes("20KB") == 20480 and parse_bytes("1.5MB") == 1572864 and parse_bytes("5000") == 5000
    with pytest.raises(PocketMLError):
        parse_bytes("lots")


def test_students_are_narrower_and_wider_ones_are_refused():
    teacher = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    student = derive_student(teacher, torch.zeros(2, 16), width=0.25)
    widths = [m.out_features for m in student.modules() if isinstance(m, nn.Linear)]
    assert widths == [16, 16, 4]
    with pytest.raises(PocketMLError, match="more than its teacher"):
        check_student(teacher, student)
    with pytest.raises(PocketMLError, match="in \\(0, 1\\]"):
        derive_student(teacher, torch.zeros(2, 16), width=2.0)


def test_split_type_is_what_recipes_train_on():
    assert Split(np.zeros((2, 3), np.float32), np.zeros(2, np.int64)).x.shape == (2, 3)


def test_pareto_front_keeps_only_undominated_points():
    from pocketml.report.pareto import pareto_front, pareto_svg

    pts = [("a", 1000, 0.90), ("b", 2000, 0.95), ("c", 3000, 0.94), ("d", 500, 0.80), ("e", 2500, 0.99)]
    assert [p[0] for p in pareto_front(pts)] == ["d", "a", "b", "e"]
    svg = pareto_svg(pts)
    assert svg.startswith("<svg") and svg.count("<circle") == 5


def test_saliency_and_magnitude_masks_reach_the_sparsity_and_differ():
    from pocketml.compress.prune import cubic_schedule, set_masks

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    x = np.random.default_rng(0).normal(size=(256, 16)).astype(np.float32)
    split = Split(x, (x[:, 0] > 0).astype(np.int64))
    masks = {}
    for criterion in ("magnitude", "saliency"):
        mirror = GraphModule(capture(model, torch.as_tensor(x[:1]), "m"))
        set_masks(mirror, 0.5, criterion, split, min_weights=0)
        assert abs(mirror.sparsity() - 0.5) < 0.01
        masks[criterion] = mirror.masks["fc1"].clone()
    assert not torch.equal(masks["magnitude"], masks["saliency"])
    assert cubic_schedule(0.8, 0, 10) == 0.0 and cubic_schedule(0.8, 10, 10) == pytest.approx(0.8)
