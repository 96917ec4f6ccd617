"""A BERT encoder in plain PyTorch that exposes what TinyBERT distils, and a text classifier on it.

One module serves as teacher (MiniLM-L6's weights loaded into it, see ``teacher.py``) and as
student (a smaller :class:`EncoderConfig`), so both expose the same :class:`Internals`: the
embedding-layer output, every layer's hidden states and attention distributions. The arithmetic is
BERT's (post-LayerNorm, exact-erf GELU, additive padding mask, absolute positions, token type 0),
checked against ``transformers``' ``BertModel`` in tests/test_distill_text.py.

:class:`TextClassifier` = optional vocabulary remap (teacher token id → student row, a buffer) +
encoder + mean pooling over real tokens (as sentence-transformers pools MiniLM) + a linear head.
Inputs are teacher token ids [N, L] (int64), 0 = padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pocketml.compress.distill.losses import Internals
from pocketml.errors import PocketMLError

PAD_ID = 0


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of a BERT encoder (MiniLM-L6: vocab 30522, hidden 384, 6 layers, 12 heads, ffn 1536)."""

    vocab: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    ffn: int = 1536
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12

    def check(self) -> EncoderConfig:
        if min(self.vocab, self.hidden, self.layers, self.heads, self.ffn, self.max_positions) < 1:
            raise PocketMLError(f"every size of {self} must be >= 1", "e.g. EncoderConfig(hidden=192, layers=2)")
        if self.hidden % self.heads:
            raise PocketMLError(f"hidden size {self.hidden} is not a multiple of the {self.heads} heads",
                                "pick hidden = heads x head size, e.g. 128 with 4 heads")
        return self


class _Layer(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.query, self.key, self.value = (nn.Linear(c.hidden, c.hidden) for _ in range(3))
        self.attn_out = nn.Linear(c.hidden, c.hidden)
        self.attn_norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.ffn_in = nn.Linear(c.hidden, c.ffn)
        self.ffn_out = nn.Linear(c.ffn, c.hidden)
        self.out_norm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, length, d = h.shape
        hd = d // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(n, length, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(n, length, d)
        h = self.attn_norm(h + self.attn_out(ctx))
        h = self.out_norm(h + self.ffn_out(F.gelu(self.ffn_in(h))))
        return h, probs


class Encoder(nn.Module):
    """BERT encoder: ``forward(ids, mask) -> (embeddings, hidden states, attention probabilities)``."""

    def __init__(self, config: EncoderConfig = EncoderConfig()) -> None:
        super().__init__()
        self.config = c = config.check()
        self.word = nn.Embedding(c.vocab, c.hidden)
        self.position = nn.Embedding(c.max_positions, c.hidden)
        self.token_type = nn.Embedding(c.type_vocab, c.hidden)
        self.norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.layers = nn.ModuleList(_Layer(c) for _ in range(c.layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor):
        length = ids.shape[1]
        pos = torch.arange(length, device=ids.device)
        e = self.norm(self.word(ids) + self.position(pos)[None] + self.token_type.weight[0])
        bias = (~mask)[:, None, None, :].to(e.dtype) * torch.finfo(e.dtype).min
        hidden, attentions = [], []
        h = e
        for layer in self.layers:
            h, a = layer(h, bias)
            hidden.append(h)
            attentions.append(a)
        return e, tuple(hidden), tuple(attentions)


class TextClassifier(nn.Module):
    """Token ids [N, L] → class scores [N, C]: (remap) → encoder → mean pool → linear.

    ``remap`` (optional, [teacher vocab], stored as int16) maps teacher token ids to rows of a reduced
    vocabulary; ``classes=0`` means no head (a pretrained encoder: ``forward_internals`` gives
    ``logits=None``).
    """

    def __init__(self, config: EncoderConfig, classes: int = 0, remap: torch.Tensor | None = None) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.head = nn.Linear(config.hidden, classes) if classes > 0 else None
        if remap is not None:
            if remap.dim() != 1 or int(remap.max()) >= config.vocab or int(remap.min()) < 0:
                raise PocketMLError("the vocabulary remap must be 1-D with values in [0, vocab)",
                                    "build it with pocketml.nlp.student.reduced_vocabulary")
            # int16 holds any row of a vocabulary up to 32,767 (MiniLM's has 30,522): half of int32's bytes
            small = config.vocab <= torch.iinfo(torch.int16).max
            self.register_buffer("remap", remap.to(torch.int16 if small else torch.int32))
        else:
            self.remap = None

    @property
    def config(self) -> EncoderConfig:
        return self.encoder.config

    def _run(self, ids: torch.Tensor) -> Internals:
        ids = ids.to(torch.int64)
        mask = ids != PAD_ID
        rows = self.remap[ids].to(torch.int64) if self.remap is not None else ids
        e, hidden, attentions = self.encoder(rows, mask)
        logits = None
        if self.head is not None:
            m = mask[..., None].to(e.dtype)
            pooled = (hidden[-1] * m).sum(1) / m.sum(1).clamp_min(1.0)
            logits = self.head(pooled)
        return Internals(e, hidden, attentions, mask, logits)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        logits = self._run(ids).logits
        if logits is None:
            raise PocketMLError("this encoder has no task head", "build TextClassifier(config, classes=C)")
        return logits

    def forward_internals(self, ids: torch.Tensor) -> Internals:
        """All internals, the batch first trimmed to its longest real sequence (padding columns cut)."""
        return self._run(trim_padding(ids))


def trim_padding(ids: torch.Tensor) -> torch.Tensor:
    """Drop trailing columns that are padding in every row (same results, less work)."""
    real = (ids != PAD_ID).any(0).nonzero()
    return ids[:, : int(real.max()) + 1] if len(real) else ids[:, :1]


def param_count(model: nn.Module) -> int:
    """Every parameter (buffers such as the vocabulary remap are counted apart, in bytes)."""
    return int(sum(p.numel() for p in model.parameters()))
