"""A deep, wide student must train at the learning rate ``train_student`` gives it (issue 11, 4x312).

At the 2x128 default's Adam rate (1e-3) a 4-layer, hidden-312 post-LayerNorm student collapsed:
every text mapped to the same vector, the loss stuck at ln(classes), accuracy = the majority class
(``pocketml distill --layers 4 --hidden 312`` scored 0.155). ``student_lr`` scales the rate by
128/hidden and 2/layers; this trains the issue's 4x312 shape on a small fixed token problem at that rate and
checks that its loss falls and its outputs depend on the input, as a 2x128 student's do. (At 1e-3
the 4x312 student fails both checks: logits' std across texts ~0.004, loss ~ln 4.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pocketml.compress.finetune import finetune
from pocketml.data.dataset import Split
from pocketml.nlp.encoder import EncoderConfig, TextClassifier
from pocketml.nlp.run import DEFAULT_DISTILL, student_lr

CLASSES = 4


def _problem(n: int = 320, length: int = 16, vocab: int = 200, seed: int = 0) -> Split:
    """Random token ids with 3 class-specific tokens (10 per class) placed at random positions."""
    g = np.random.default_rng(seed)
    y = g.integers(0, CLASSES, n)
    x = g.integers(1 + CLASSES * 10, vocab, (n, length))
    for i in range(n):
        x[i, g.choice(length, 3, replace=False)] = 1 + y[i] * 10 + g.integers(0, 10, 3)
    return Split(x.astype(np.int64), y.astype(np.int64))


def _train(layers: int, hidden: int, split: Split) -> tuple[list[float], float]:
    """(loss per step, mean std of the logits across texts) after 3 epochs at ``student_lr``."""
    torch.manual_seed(0)
    model = TextClassifier(EncoderConfig(vocab=200, hidden=hidden, layers=layers, heads=4, ffn=4 * hidden,
                                         max_positions=16, type_vocab=1), classes=CLASSES)
    losses: list[float] = []

    def loss(module, xb, yb):
        value = F.cross_entropy(module(xb), yb)
        losses.append(float(value.detach()))
        return value

    lr = student_lr(DEFAULT_DISTILL.lr, hidden, layers)
    finetune(model, split, epochs=3, lr=lr, batch_size=32, seed=1, loss=loss)
    with torch.no_grad():
        spread = float(model(torch.as_tensor(split.x[:64])).std(0).mean())
    return losses, spread


def test_student_lr_keeps_the_default_and_scales_wider_and_deeper_students():
    assert student_lr(1e-3, 128, 2) == 1e-3  # the 2x128 default trains exactly as before
    assert student_lr(1e-3, 64, 1) == 1e-3   # never above the tuned rate
    assert student_lr(1e-3, 312, 2) == pytest.approx(1e-3 * 128 / 312)
    assert student_lr(1e-3, 128, 4) == pytest.approx(5e-4)
    assert student_lr(1e-3, 312, 4) == pytest.approx(1e-3 * 128 / 312 / 2)


def test_a_4x312_student_trains_like_a_2x128_one():
    torch.set_num_threads(1)
    split = _problem()
    for layers, hidden in ((2, 128), (4, 312)):
        losses, spread = _train(layers, hidden, split)
        late = float(np.mean(losses[-5:]))
        assert late < 0.9 * math.log(CLASSES), (layers, hidden, losses)  # learned something beyond chance
        assert spread > 0.1, (layers, hidden, spread)  # outputs depend on the text (no collapse)
