"""The on-device training step: plan, numpy reference, emitted C (ASan/UBSan, QEMU), PyTorch cross-check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.deploy.c.train import emit_train
from pocketml.deploy.c.train_host import Commands, build_train_host, run_train_host
from pocketml.deploy.cortexm import toolchain_available
from pocketml.deploy.training import batch_commands, compare
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.training import exp_approx, plan_training
from pocketml.graph.training_torch import torch_step

SANITIZE = "-std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"


def _quantized(net: nn.Module, shape: tuple[int, ...], name: str, seed: int = 0):
    torch.manual_seed(seed)
    x = np.random.default_rng(seed).normal(size=(64, *shape)).astype(np.float32)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    net.eval()
    g = quantize(capture(net, torch.as_tensor(x[:1]), name), x)
    return g, g.quantize_input(x)


def cnn():
    """conv-ReLU, conv-ReLU, max pool, flatten, linear: the digits-cnn chain."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 5)), (1, 8, 8)


class DSBlock(nn.Module):
    """conv, depthwise, pointwise, global average pool, linear, softmax: the ds-cnn chain."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                                      nn.Conv2d(6, 6, 3, padding=1, groups=6), nn.BatchNorm2d(6), nn.ReLU(),
                                      nn.Conv2d(6, 6, 1), nn.ReLU())
        self.head = nn.Linear(6, 4)

    def forward(self, x):
        return torch.softmax(self.head(self.features(x).mean((2, 3))), dim=1)


def ds():
    torch.manual_seed(1)
    return DSBlock(), (1, 10, 6)


MODELS = {"cnn": cnn, "ds": ds}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    net, shape = MODELS[request.param]()
    g, xq = _quantized(net, shape, request.param)
    labels = np.random.default_rng(3).integers(0, g.output_info.shape[0], len(xq))
    return g, xq, labels


@pytest.mark.parametrize("trainable", ["last", "bias", "last+bias"])
def test_c_step_equals_reference_bit_for_bit_under_sanitizers(model, trainable, tmp_path):
    # Prepare: the plan, its C, 24 samples in batches of 8
    g, xq, labels = model
    plan = plan_training(g, trainable, bias_layers=3)
    source = emit_train(plan, "net")
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    cmd, expected = batch_commands(plan, xq[:24], labels[:24], lr=0.05, batch=8)
    for xi in xq[24:28]:
        cmd.predict(xi)
    # Execute
    binary = build_train_host(tmp_path, source.prefix, source.sources, tmp_path / "build", cflags=SANITIZE)
    replies = run_train_host(binary, cmd)
    # Assert: every batch's state and every prediction identical in every bit
    check = compare(replies[:3], expected, 24, "host")
    assert check.exact and check.batches == 3, check
    state = plan.from_flat(expected[-1])
    np.testing.assert_array_equal(np.stack(replies[3:]).view(np.uint32), plan.predict(state, xq[24:28]).view(np.uint32))
    moved = plan.to_flat(state) != plan.to_flat(plan.initial_state())
    assert moved.any()  # the step trained something
    if trainable != "last":
        assert plan.bias_layers and any((b != b0).any() for b, b0 in zip(state.biases, plan.initial_state().biases,
                                                                                  strict=True))


@pytest.mark.parametrize("trainable", ["last", "last+bias"])
def test_reference_matches_pytorch_autograd(model, trainable):
    g, xq, labels = model
    plan = plan_training(g, trainable, bias_layers=3)
    state = plan.initial_state()
    for i in range(12):
        w, b, steps = torch_step(plan, state, xq[i], int(labels[i]), 0.05)
        new = plan.step(state, xq[i], int(labels[i]), 0.05)
        np.testing.assert_allclose(new.head_w, w, atol=1e-6, rtol=1e-5)
        np.testing.assert_allclose(new.head_b, b, atol=1e-6, rtol=1e-5)
        for after, before, real in zip(new.biases, state.biases, steps, strict=True):
            # the int32 step is the real step (in bias units) rounded: within half a unit, or clamped
            assert np.all(np.abs((after.astype(np.int64) - before) - real) <= 0.5 + 1e-3 * np.abs(real))
        state = new


def test_export_import_round_trip_and_refusals(model, tmp_path):
    g, xq, labels = model
    plan = plan_training(g, "last+bias", bias_layers=3)
    source = emit_train(plan, "net")
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    binary = build_train_host(tmp_path, source.prefix, source.sources, tmp_path / "b", cflags=SANITIZE)
    values = plan.to_flat(plan.initial_state())
    values[-1] += 0.6  # an int32 bias given as a float rounds half away from zero on import
    back = run_train_host(binary, Commands(plan).load(values).export())[0]
    want = plan.to_flat(plan.from_flat(values))
    np.testing.assert_array_equal(back, want)
    assert back[-1] == np.round(values[-1] - 0.6) + 1
    with pytest.raises(PocketMLError, match="refused"):
        run_train_host(binary, Commands(plan).step(xq[0], plan.head.classes, 0.1))  # label out of range
    with pytest.raises(PocketMLError, match="refused"):
        run_train_host(binary, Commands(plan).step(xq[0], 0, float("nan")))
    with pytest.raises(PocketMLError):
        Commands(plan).load(values[:-1])


def test_memory_plan_keeps_what_the_backward_reads(model):
    g, _, _ = model
    plan = plan_training(g, "last+bias", bias_layers=3)
    mem = plan.memory
    bufs = mem.buffers
    for i, a in enumerate(bufs):  # nothing alive at the same step shares a byte
        for b in bufs[i + 1:]:
            if not (a.last_op < b.first_op or b.last_op < a.first_op):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    assert mem.arena_bytes >= max(b.offset + b.size for b in bufs)
    head_step = len(plan.forward)
    for s in plan.chain:  # masks are read at the op's backward step: the tensor must live until then
        if s.mask:
            op = g.ops[s.index]
            buf = next(b for b in bufs if op.output in b.tensors)
            assert buf.last_op >= head_step + 1 + plan.chain.index(s)
    roles = mem.bytes_by_role()
    assert roles["gradient"] > 0 and roles["kept activation"] > 0 and roles["logits"] == 4 * plan.head.classes
    last = plan_training(g, "last")
    assert last.chain == () and last.memory.bytes_by_role()["gradient"] == 0
    assert last.memory.arena_bytes < mem.arena_bytes


def test_bias_mode_freezes_the_classifier_weights(model):
    g, xq, labels = model
    plan = plan_training(g, "bias", bias_layers=1)
    state = plan.train(plan.initial_state(), xq[:8], labels[:8], 0.1)
    np.testing.assert_array_equal(state.head_w, plan.head.weight)
    assert len(plan.bias_layers) == 1 and plan.array_names()[0].endswith(".bias")
    assert plan.memory.frozen_head_bytes == 4 * plan.head.weight.size


def test_plan_refusals():
    net, shape = cnn()
    g, _ = _quantized(net, shape, "cnn")
    with pytest.raises(PocketMLError, match="unknown trainable"):
        plan_training(g, "everything")
    with pytest.raises(PocketMLError, match="bias_layers"):
        plan_training(g, "bias", bias_layers=-1)
    conv_only, _ = _quantized(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 6, 6), "conv")
    with pytest.raises(PocketMLError, match="no FULLY_CONNECTED"):
        plan_training(conv_only, "last")
    relu_head, _ = _quantized(nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.ReLU()), (1, 4, 4), "relu_head")
    with pytest.raises(PocketMLError, match="not a classifier"):
        plan_training(relu_head, "last")
    plan = plan_training(g, "bias", bias_layers=9)  # asks for more than the chain reaches: says so
    assert len(plan.bias_layers) == 2 and any("reachable" in n for n in plan.notes)


def test_exp_approx_is_close_to_exp_and_zero_far_below():
    x = np.linspace(-79.9, 0, 5001, dtype=np.float32)
    np.testing.assert_allclose(exp_approx(x), np.exp(x.astype(np.float64)), rtol=2e-7)
    assert exp_approx(np.float32([-81.0]))[0] == 0.0 and exp_approx(np.float32([0.0]))[0] == 1.0


@pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_qemu_cortex_m4_equals_reference(model, tmp_path):
    from pocketml.deploy.cortexm.train import measure_train_cortexm

    g, xq, labels = model
    plan = plan_training(g, "last+bias", bias_layers=3)
    source = emit_train(plan, "net")
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    cmd, expected = batch_commands(plan, xq[:16], labels[:16], lr=0.05, batch=8)
    report, run = measure_train_cortexm(tmp_path, source, "cortex-m4f", cmd)
    assert compare(run.replies, expected, 16, "qemu").exact
    assert report.instructions_per_step > 0 and report.qemu_steps == 16
    assert report.ram_bytes >= report.sections[".bss"] >= plan.memory.arena_bytes


@pytest.mark.parametrize("optimize", ["speed", "size"])
def test_dsp_training_build_under_sanitizers_equals_reference(model, optimize, tmp_path):
    """The DSP build on the host: ASan/UBSan against the test-only <arm_acle.h> emulation (tests/acle)."""
    from pathlib import Path

    from pocketml.deploy.c.dsp import KernelTarget

    g, xq, labels = model
    plan = plan_training(g, "last+bias", bias_layers=1)
    source = emit_train(plan, "net", kernels=KernelTarget(True, optimize))
    assert source.kernels == f"dsp-{optimize}"
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    cmd, expected = batch_commands(plan, xq[:16], labels[:16], lr=0.05, batch=8)
    acle = Path(__file__).parent / "acle"
    binary = build_train_host(tmp_path, source.prefix, source.sources, tmp_path / "build",
                              cflags=f"{SANITIZE} -I{acle}")
    assert compare(run_train_host(binary, cmd), expected, 16, "host").exact


@pytest.mark.skipif(not toolchain_available(need_qemu=True), reason="needs arm-none-eabi-gcc and qemu-system-arm")
@pytest.mark.parametrize(("trainable", "optimize"), [("last", "speed"), ("last+bias", "size")])
def test_qemu_dsp_kernels_for_the_frozen_layers_equal_reference(model, trainable, optimize, tmp_path):
    from pocketml.deploy.c.dsp import KernelTarget
    from pocketml.deploy.cortexm.train import measure_train_cortexm

    # Prepare: the frozen layers on the DSP kernels; the layers the backward walks stay portable
    g, xq, labels = model
    plan = plan_training(g, trainable, bias_layers=1)
    source = emit_train(plan, "net", kernels=KernelTarget(True, optimize))
    assert source.kernels == f"dsp-{optimize}" and "_dsp_params" in source.files["train.c"]
    for step in plan.chain:  # the backward reads these layers' weights and biases as the portable kernels store them
        if step.rule.weighted:
            assert f"pocketml_{g.ops[step.index].kind}(&" in source.files["train.c"]
    for name, text in source.files.items():
        (tmp_path / name).write_text(text)
    cmd, expected = batch_commands(plan, xq[:16], labels[:16], lr=0.05, batch=8)
    # Execute
    report, run = measure_train_cortexm(tmp_path, source, "cortex-m4f", cmd)
    # Assert: the same state in every bit as the reference (and so as the portable build)
    assert compare(run.replies, expected, 16, "qemu").exact


def test_shrink_emits_checks_and_reports_the_training_step(tmp_path):
    import json

    from pocketml import shrink

    net, shape = ds()
    net.eval()
    x = np.random.default_rng(0).normal(size=(48, *shape)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 4, 48)
    result = shrink(net, x, (x[:32], y[:32]), "nano33ble", tmp_path / "out", name="kws", trainable="last+bias",
                    bias_layers=2)
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    t = doc["training"]
    assert t["exact"] and t["check"][0]["runtime"] == "host" and t["check"][0]["samples"] == 32
    assert t["bias_layers"] and t["entry_points"][0] == "kws_train_step"
    assert (tmp_path / "out" / "c" / "train.c").is_file() and "c/train.c" in t["files"]
    assert result.c_mismatches == 0  # the inference model is untouched
    from pocketml.deploy.c.build import model_sources

    assert "model.c" in model_sources(tmp_path / "out" / "c")  # verify sizes the inference model alone
    assert not {"train.c", "pocketml_train.c"} & set(model_sources(tmp_path / "out" / "c"))
    html = (tmp_path / "out" / "report.html").read_text()
    assert "On-device training" in html
    if toolchain_available(need_qemu=True):
        assert [c["runtime"] for c in t["check"]] == ["host", "qemu"]
        assert t["cortexm"]["ram_bytes"] > t["cortexm"]["inference_ram_bytes"] > 0
        # nano33ble's M4F has the DSP extension: the board's training step is the one beside its c-dsp/model.c
        assert t["cortexm"]["kernels"] == doc["cortexm"]["kernels"] and "c-dsp/train.c" in t["files"]
    with pytest.raises(PocketMLError, match="unknown trainable"):
        shrink(net, x, (x, y), "nano33ble", tmp_path / "bad", trainable="all")
    assert not (tmp_path / "bad").exists()


def test_dsp_training_build_with_a_dsp_depthwise_layer():
    """A frozen depthwise layer the DSP kernel takes (channels a multiple of 4) is emitted in train.c
    (the step's C context answers what the kernel asks of the emitter, e.g. its scratch limit)."""
    from pocketml.deploy.c.dsp import KernelTarget

    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 3, 4))
    g, _ = _quantized(net, (1, 10, 6), "dw8")
    plan = plan_training(g, "last")
    source = emit_train(plan, "net", kernels=KernelTarget(True, "speed"))
    assert source.kernels == "dsp-speed" and "pocketml_depthwise_conv2d_dsp" in "".join(source.files.values())
