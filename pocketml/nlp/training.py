"""Plain supervised training of the text models (the teacher's fine-tuning, the no-teacher baseline), and scoring.

Both go through ``pocketml.compress.finetune.finetune`` (seeded Adam + cosine); batches are trimmed
to their longest real sequence first. The teacher's word-embedding table (11.7M of its 22.7M
parameters) is frozen while it is fine-tuned: it saves most of the optimiser's work and keeps the
table the students' embeddings start from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from pocketml.compress.finetune import finetune
from pocketml.data.dataset import Split
from pocketml.nlp.encoder import TextClassifier, trim_padding


def _loss(progress: Callable[[int, int], None] | None, total: int):
    done = [0]

    def loss(module, xb, yb):
        logits = module(trim_padding(xb))
        done[0] += 1
        if progress is not None:
            progress(done[0], total)
        return F.cross_entropy(logits, yb)

    return loss


def train_supervised(model: TextClassifier, train: Split, *, epochs: int, lr: float, batch_size: int = 32,
                     seed: int = 0, freeze_embeddings: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> TextClassifier:
    """Cross-entropy training in place (``freeze_embeddings`` keeps the word-embedding table fixed)."""
    params = [p for n, p in model.named_parameters() if not (freeze_embeddings and n == "encoder.word.weight")]
    total = epochs * -(-len(train.x) // batch_size)
    return finetune(model, train, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                    loss=_loss(progress, total), params=params)


def predict(model: torch.nn.Module, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Class predictions (batches trimmed of padding columns)."""
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            out.append(model(trim_padding(torch.as_tensor(x[s:s + batch_size]))).argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def accuracy(model: torch.nn.Module, split: Split) -> float:
    return float(np.mean(predict(model, split.x) == split.y))
