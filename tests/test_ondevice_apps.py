"""The device learns and collaborates: per-device shifts, personalisation in C, Flower clients in C, split."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.data.device_shift import DeviceShift, device_shifts
from pocketml.errors import PocketMLError


def pocketml(*args):
    return subprocess.run([sys.executable, "-m", "pocketml.cli", *args], capture_output=True, text=True)


# ---- per-device shift -------------------------------------------------------------------------

def test_device_shifts_are_seeded_distinct_and_stay_in_range():
    a, b = device_shifts(4, seed=0), device_shifts(4, seed=0)
    assert a == b and len({s.angle_deg for s in a}) == 4 and a != device_shifts(4, seed=1)
    x = np.random.default_rng(0).uniform(0, 1, (6, 1, 8, 8)).astype(np.float32)
    y = a[0].apply(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == np.float32 and 0.0 <= y.min() and y.max() <= 1.0
    assert not np.allclose(y, x)
    same = DeviceShift(0.0, 0.0, 1.0, 0.0).apply(x, np.random.default_rng(1))
    np.testing.assert_allclose(same, x, atol=1e-6)  # no shift: the images are untouched
    with pytest.raises(PocketMLError, match="N, 1, H, W"):
        a[0].apply(x[:, 0], np.random.default_rng(1))
    with pytest.raises(PocketMLError):
        device_shifts(0)


# ---- personalisation and federated clients in C (on the session's trained digits-cnn) ----------

def test_personalization_adapts_in_c_and_reports_mean_and_spread(digits_trained):
    from pocketml.ondevice.personalize import BEFORE, HOST, PersonalizeSettings, personalize

    model, data = digits_trained
    settings = PersonalizeSettings(devices=2, seeds=(0,), samples=(10, 60), trainable=("last",), epochs=4,
                                   host_epochs=4, holdout=120)
    result = personalize(settings, base=lambda seed: (model, data))
    rows = {(r["method"], r["samples"]): r for r in result.summary()}
    assert set(result.methods()) == {BEFORE, "on-device last", HOST}
    assert rows[(BEFORE, 10)]["gain_mean"] == 0.0 and rows[(BEFORE, 10)]["runs"] == 2
    assert rows[("on-device last", 60)]["runs"] == 2
    assert rows[("on-device last", 60)]["gain_mean"] > 0  # 60 local samples help every shifted device here
    assert rows[("on-device last", 60)]["gain_mean"] >= rows[("on-device last", 10)]["gain_mean"]
    doc = result.to_json()
    assert json.loads(json.dumps(doc))["settings"]["samples"] == [10, 60] and doc["shifts"]["0"][0]["angle_deg"]
    with pytest.raises(PocketMLError, match="unknown trainable"):
        PersonalizeSettings(trainable=("everything",)).check()


def test_federated_clients_train_in_c_like_python_clients(digits_trained):
    from pocketml.ondevice.federate import FederateInCSettings, federate_in_c

    model, data = digits_trained
    s = FederateInCSettings(clients=3, rounds=2, seed=0, lr=0.01)
    result = federate_in_c(s, base=lambda seed: (model, data))
    doc = result.to_json()
    assert len(result.c.accuracy) == 2 and len(result.python.accuracy) == 2
    assert result.accuracy_gap <= 0.01  # within one point, round by round
    assert result.c.accuracy[-1] > result.c.initial_accuracy  # the fleet improved the shared head
    part = 4 * result.plan["trainable_values"]
    assert all(e.payload_bytes == 3 * part and e.train_steps == len(data.train.x) for e in result.energy)
    assert all(up > 3 * part for up in result.c.bytes_up)  # Flower's framing on top of the payload
    assert all(e.compute_joules > 0 and e.radio_joules > 0 for e in result.energy) and doc["estimate"]
    if doc["instructions_method"].startswith("QEMU"):  # nano33ble's M4F runs the DSP kernels for the frozen body
        assert "dsp-speed kernels" in doc["instructions_method"]
    compressed = federate_in_c(FederateInCSettings(clients=3, rounds=1, compress="int8", python_clients=False),
                               base=lambda seed: (model, data))
    assert compressed.python is None and compressed.energy[0].payload_bytes < 3 * part / 3
    with pytest.raises(PocketMLError, match="unknown trainable"):
        FederateInCSettings(trainable="all").check()


# ---- split inference --------------------------------------------------------------------------

class Residual(nn.Module):
    """conv, a residual block (two tensors cross a cut inside it), pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        return self.head(torch.relu(self.a(s) + s).mean((2, 3)))


@pytest.fixture(scope="module")
def residual_out(tmp_path_factory):
    from pocketml import shrink

    torch.manual_seed(0)
    net = Residual().eval()
    x = np.random.default_rng(0).normal(size=(24, 1, 6, 6)).astype(np.float32)
    out = tmp_path_factory.mktemp("split") / "out"
    shrink(net, x, (x[:12], np.arange(12) % 3), "nano33ble", out, name="res", report=False)
    return out


def test_every_cut_is_exact_end_to_end_and_priced(residual_out):
    from pocketml.ondevice.split import cut_points, measure_split
    from pocketml.result import read_result_json

    m = measure_split(residual_out, samples=6)
    assert len(m.cuts) == len(m.graph.ops) + 1 and all(c.exact for c in m.cuts)
    assert any(len(c.crossing) == 2 and c.gateway_runtime == "reference" for c in m.cuts)  # inside the block
    assert any(len(c.crossing) == 1 and c.gateway_runtime == "C" for c in m.cuts[1:-1])
    ble, lora = m.report("ble"), m.report("lora", entropy=True)
    first, last = ble.cuts[0], ble.cuts[-1]
    assert first.raw_bytes == m.graph.input_info.nbytes and first.device_instructions == 0
    assert last.raw_bytes == m.graph.output_bytes and last.gateway_seconds == 0
    assert ble.min_energy.device_joules == min(c.device_joules for c in ble.cuts)
    assert lora.min_latency.latency_seconds == min(c.latency_seconds for c in lora.cuts)
    assert [k for k, _ in cut_points(m.graph, m.order)] == list(range(len(m.order) + 1))
    measured = (read_result_json(residual_out).get("cortexm") or {}).get("kernels")
    if measured is not None:  # QEMU ran: the device part ran there with the board's own kernels, exactly
        assert m.kernels == measured and m.cuts[1].instructions
        assert f'_KERNELS "{measured}"' in m.cuts[1].device_files["model.h"]
    doc = ble.to_json()
    assert doc["exact"] and {s["strategy"] for s in doc["strategies"]} >= {"all local", "split, least device energy"}
    with pytest.raises(PocketMLError, match="unknown radio"):
        m.report("carrier-pigeon")


def test_split_cli_writes_json_report_and_the_chosen_device_c(residual_out, tmp_path):
    proc = pocketml("split", str(residual_out), "--radio", "ble,lora", "--samples", "4", "--json", "--no-qemu",
                    "--write", str(tmp_path / "split"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    docs = json.loads(proc.stdout)["reports"]
    assert [d["radio"] for d in docs] == ["ble", "lora"] and all(d["exact"] for d in docs)
    assert (tmp_path / "split" / "split.json").is_file() and "Split inference" in (tmp_path / "split" /
                                                                                   "report.html").read_text()
    chosen = {d[k] for d in docs for k in ("min_device_energy_cut", "min_latency_cut")} - {0, len(docs[0]["cuts"]) - 1}
    for k in chosen:
        assert (tmp_path / "split" / f"device_cut{k}" / "model.c").is_file()
    bad = pocketml("split", str(residual_out), "--radio", "smoke", "--no-qemu")
    assert bad.returncode == 1 and "unknown radio" in bad.stderr


def test_new_commands_answer_help_without_heavy_libraries():
    heavy = ("torch", "sklearn", "flwr", "matplotlib")
    for args in (["split", "--help"], ["ondevice", "--help"], ["ondevice", "personalize", "--help"]):
        code = (f"import sys\nsys.argv = ['pocketml', *{args!r}]\nfrom pocketml.cli import main\ntry:\n    main()\n"
                f"except SystemExit:\n    pass\nprint(sorted(m for m in {heavy!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip().splitlines()[-1] == "[]", (args, out.stdout[-300:], out.stderr[-300:])
