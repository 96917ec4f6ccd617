"""The keyword model: DS-CNN trains on the front end's features, and QAT (compress.mirror) handles its layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketml.apps.kws.train import (
    TrainSpec,
    _band_mask,
    build_model,
    logits,
    one_thread,
    predict,
    qat_recipe,
    train_float,
)
from pocketml.compress.mirror import GraphModule
from pocketml.compress.runner import run_recipe
from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture


def _toy(n=240, classes=4, seed=0):
    """Separable toy features shaped like MFCCs: class c raises coefficients 2c, 2c+1 for 15 frames, anywhere."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.standard_normal((n, 1, 49, 10)).astype(np.float32) * 0.5
    start = rng.integers(0, 34, n)
    for i in range(n):
        x[i, 0, start[i]:start[i] + 15, 2 * y[i]:2 * y[i] + 2] += 2.0
    return x, y


def test_graph_module_mirrors_the_ds_cnn():
    torch.manual_seed(0)
    model = build_model(5, TrainSpec(width=8, blocks=2), seed=0).eval()
    x, _ = _toy(16)
    mirror = GraphModule(capture(model, torch.as_tensor(x[:1]), "kws_model")).eval()
    with torch.no_grad():
        want = model(torch.as_tensor(x)).numpy()
        got = mirror(torch.as_tensor(x)).numpy()
        mirror.train()
        log_probs = mirror(torch.as_tensor(x)).numpy()  # training mode: log-probabilities for the loss
    assert np.allclose(got, want, atol=1e-5)
    assert np.allclose(np.exp(log_probs), want, atol=1e-5)
    assert "dwconv1" in mirror.layer_names  # depthwise weights are trained (and quantized) too


def test_float_training_then_qat_int8_keeps_accuracy():
    x, y = _toy()
    spec = TrainSpec(width=16, blocks=1, epochs=12, batch_size=32, lr=1e-2, qat_epochs=2, time_mask=2)
    with one_thread():
        model, history = train_float(build_model(4, spec, seed=1), x[:200], y[:200], spec, seed=1,
                                     val=(x[200:], y[200:]))
    assert history[-1]["val_accuracy"] >= 0.85 and len(history) == 12
    assert logits(model, torch.as_tensor(x[:2])).shape == (2, 4)
    assert np.allclose(predict(model, x[:3]).sum(1), 1, atol=1e-5)  # the model ends in its softmax
    with one_thread():
        done = run_recipe(qat_recipe(spec), model, x[:100], Split(x[:200], y[:200]), Split(x[200:], y[200:]),
                          name="kws_model", seed=1)
    fig = done.stages[0].figures
    assert fig["qat_accuracy"] >= 0.85 and fig["accuracy_int_after"] == fig["qat_accuracy"]
    ref = done.qgraph.run(done.qgraph.quantize_input(x[200:])).reshape(40, -1)
    assert ref.dtype == np.int8 and ref.shape == (40, 4)


def test_band_masks_zero_runs_of_frames_or_coefficients():
    x = torch.ones(64, 1, 49, 10)
    assert _band_mask(x, 0, torch.Generator().manual_seed(0), dim=3) is x
    freq = _band_mask(x, 3, torch.Generator().manual_seed(0), dim=3)
    cols = (freq == 0).all(dim=2)[:, 0]  # [clip, coefficient]: a coefficient is masked in every frame or in none
    assert ((freq == 0).sum((1, 2, 3)) == cols.sum(1) * 49).all()
    widths = cols.sum(1)
    assert widths.max() == 3 and widths.min() == 0
    for row in cols[widths > 0]:  # one run of adjacent coefficients
        idx = torch.nonzero(row).flatten()
        assert (idx.diff() == 1).all()
    time = _band_mask(x, 6, torch.Generator().manual_seed(0), dim=2)
    rows = (time == 0).all(dim=3)[:, 0]
    assert ((time == 0).sum((1, 2, 3)) == rows.sum(1) * 10).all() and rows.sum(1).max() <= 6


def test_train_spec_rejects_negative_masks():
    with pytest.raises(PocketMLError):
        TrainSpec(freq_mask=-1).check()


def test_cli_help_states_train_spec_defaults():
    """`kws train --help` names TrainSpec's defaults (their one home); the options default to None."""
    import inspect
    import re

    from pocketml.cli.kws import kws_train

    spec = TrainSpec()
    for name in ("width", "blocks", "epochs", "qat_epochs", "freq_mask"):
        option = inspect.signature(kws_train).parameters[name].default
        assert option.default is None
        stated = re.search(r"\(default: TrainSpec's, (\d+)", option.help).group(1)
        assert int(stated) == getattr(spec, name), name
