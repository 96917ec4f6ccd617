"""The teacher's WordPiece tokenizer (``tokenizer.json`` from the teacher's package, read by ``tokenizers``).

``encode(texts, max_len)`` gives int64 token ids [N, max_len] ([CLS] … [SEP], 0-padded, truncated);
students read the same ids (a reduced-vocabulary student remaps them inside the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pocketml.errors import PocketMLError


class WordPieceTokenizer:
    """Wraps a ``tokenizers`` JSON tokenizer; ``max_len`` counts [CLS] and [SEP]."""

    def __init__(self, path: str | Path, max_len: int = 48) -> None:
        from tokenizers import Tokenizer

        if max_len < 3:
            raise PocketMLError(f"max_len {max_len} leaves no room for text", "use max_len >= 8, e.g. 48")
        self.path = Path(path)
        self.max_len = max_len
        self._tok = Tokenizer.from_file(str(self.path))
        self._tok.no_padding()
        self._tok.enable_truncation(max_len)

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def vocabulary(self) -> list[str]:
        """The pieces by id (``vocabulary()[i]`` is token id i)."""
        pieces = [""] * self.vocab_size
        for piece, i in self._tok.get_vocab().items():
            pieces[i] = piece
        return pieces

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids if int(i) != 0])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise PocketMLError("encode takes a list of texts, got one string", "wrap it: encode([text])")
        out = np.zeros((len(texts), self.max_len), np.int64)
        for i, enc in enumerate(self._tok.encode_batch(list(texts))):
            out[i, :len(enc.ids)] = enc.ids
        return out

    def tokens(self, text: str) -> list[str]:
        return self._tok.encode(text).tokens
