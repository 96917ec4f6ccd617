"""TinyBERT's task data augmentation: new training sentences by swapping word pieces for near neighbours.

TinyBERT (Jiao et al., 2020, Algorithm 1) makes N new sentences from each training sentence by
replacing each word, with probability ``p_t`` = 0.4, by one of its K nearest neighbours (BERT's
masked-LM guesses for single-piece words, GloVe neighbours otherwise); the fine-tuned teacher's
soft logits then label the new sentences (prediction-layer distillation on augmented data). Here:

* the embedding space is the teacher's own input (word-piece) embedding table: neighbours are the
  K most cosine-similar pieces (:func:`neighbour_table`), so nothing else is downloaded;
* replacement works on word pieces, directly on token ids (lengths stay, no re-tokenising): a
  whole-word piece is replaced by a whole-word piece, a ``##`` continuation by a continuation,
  only alphabetic pieces are replaced or used (no digits, punctuation, specials, ``[unused]``);
* every copy is drawn with a seeded generator (:class:`Augmenter`): the same settings give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class AugmentConfig:
    """``copies`` new sentences per training sentence; each piece replaced with ``probability``."""

    copies: int = 10
    probability: float = 0.4
    neighbours: int = 15
    seed: int = 0

    def check(self) -> AugmentConfig:
        if self.copies < 0 or not 0.0 <= self.probability <= 1.0 or self.neighbours < 1:
            raise PocketMLError(f"augmentation settings {self} are out of range",
                                "copies >= 0, probability in [0, 1], neighbours >= 1, e.g. AugmentConfig(10, 0.4, 15)")
        return self


def replaceable_pieces(vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids of alphabetic whole-word pieces, ids of alphabetic ``##`` continuations) of a WordPiece vocabulary."""
    words, tails = [], []
    for i, piece in enumerate(vocabulary):
        body = piece[2:] if piece.startswith("##") else piece
        if body.isascii() and body.isalpha():
            (tails if piece.startswith("##") else words).append(i)
    return np.array(words, np.int64), np.array(tails, np.int64)


def neighbour_table(embedding: torch.Tensor, vocabulary: list[str], ids: np.ndarray, k: int) -> dict[int, np.ndarray]:
    """For each replaceable id in ``ids``: its ``k`` nearest pieces of the same kind (cosine, itself excluded)."""
    words, tails = replaceable_pieces(vocabulary)
    unit = torch.nn.functional.normalize(embedding.detach().float(), dim=1)
    table: dict[int, np.ndarray] = {}
    for group in (words, tails):
        members = set(group.tolist())
        query = np.array(sorted({int(i) for i in np.unique(ids)} & members), np.int64)
        if not len(query) or len(group) < 2:
            continue
        cand = torch.as_tensor(group)
        for start in range(0, len(query), 512):
            q = torch.as_tensor(query[start:start + 512])
            sim = unit[q] @ unit[cand].T
            sim[q[:, None] == cand[None, :]] = -2.0  # not itself
            top = sim.topk(min(k, len(group) - 1), dim=1).indices
            for row, i in enumerate(q.tolist()):
                table[i] = group[top[row].numpy()]
    return table


class Augmenter:
    """``augment(x)``: ``copies`` altered copies of each row of token ids [N, L] (rows grouped per copy)."""

    def __init__(self, embedding: torch.Tensor, vocabulary: list[str], config: AugmentConfig = AugmentConfig()) -> None:
        self.config = config.check()
        self.embedding = embedding
        self.vocabulary = vocabulary

    def augment(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(new rows [N·copies, L], index of each new row's source row)."""
        c = self.config
        x = np.asarray(x)
        table = neighbour_table(self.embedding, self.vocabulary, x, c.neighbours)
        rng = np.random.default_rng(c.seed)
        swappable = np.isin(x, np.fromiter(table, np.int64, len(table)))
        rows, source = [], []
        for _ in range(c.copies):
            new = x.copy()
            hit = swappable & (rng.random(x.shape) < c.probability)
            for r, col in zip(*np.nonzero(hit), strict=True):
                choices = table[int(x[r, col])]
                new[r, col] = choices[rng.integers(len(choices))]
            rows.append(new)
            source.append(np.arange(len(x)))
        if not rows:
            return np.zeros((0, x.shape[1]), x.dtype), np.zeros(0, np.int64)
        return np.concatenate(rows), np.concatenate(source)
