"""scikit-learn's handwritten digits (8x8, 1797 images, ships with the package: no download).

Split 60 / 20 / 20 into train / validation / test, stratified, with a fixed seed, so every run
and every machine sees the same test set. Pixels (0..16) are scaled to [0, 1]; images are NCHW.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as _sk_load_digits
from sklearn.model_selection import train_test_split

from pocketml.data.dataset import Dataset, Split

SPLIT_SEED = 0


def load_digits(seed: int = SPLIT_SEED) -> Dataset:
    bunch = _sk_load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, random_state=seed, stratify=y)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=seed,
                                                    stratify=y_rest)
    return Dataset("digits", Split(x_train, y_train), Split(x_val, y_val), Split(x_test, y_test), 10)


def load_digits_shifted(seed: int = SPLIT_SEED, max_shift: int = 2) -> Dataset:
    """``load_digits``, its training images also shifted by every (dy, dx) in [-max_shift, max_shift]².

    Translated copies with zero fill (25 per image at the default, 26,950 training images):
    enough samples for a 10,000-client federated fleet. Validation and test splits are the
    unshifted originals, so accuracies compare with ``load_digits``'s.
    """
    base = load_digits(seed)
    x, y = base.train.x, base.train.y
    copies = []
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            moved = np.zeros_like(x)
            h, w = x.shape[-2:]
            moved[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                x[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
            copies.append(moved)
    train = Split(np.concatenate(copies), np.tile(y, len(copies)))
    return Dataset("digits-shifted", train, base.val, base.test, base.n_classes)
