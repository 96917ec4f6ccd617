"""A frozen teacher that remembers: its internals per input row, computed once, for multi-epoch distillation.

TinyBERT runs the teacher on every batch of every epoch; the teacher is frozen and the data fixed,
so the same rows give the same outputs. :class:`CachedTeacher` wraps a model exposing
``forward_internals`` (see ``losses.Internals``): ``fill(x)`` runs the teacher once over all rows
(padded back to the full row length) and keeps embeddings, hidden states, attentions and logits in float16;
``forward_internals(xb)`` then looks each row up by its bytes and returns the internals trimmed to
``trim(xb)``'s length, as the teacher would. A row not seen is computed on the spot (not stored).

``fill(x, internals=False)`` keeps only the logits of those rows (a few bytes per row instead of
hundreds of KB of attentions): enough for prediction-layer distillation on many augmented or
unlabelled rows. ``forward(xb)`` (the logits) is answered from the cache for any filled row.
Rows are batched by their number of non-zero entries (token ids: their length), so a trimming
teacher pads less.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.compress.distill.losses import Internals


class CachedTeacher(nn.Module):
    """Wraps ``teacher``; ``trim(xb)`` must be what the teacher's ``forward_internals`` does to its input."""

    def __init__(self, teacher: nn.Module, trim: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> None:
        super().__init__()
        self.teacher = teacher.eval()
        self.trim = trim
        self._index: dict[bytes, int] = {}
        self._store: dict[str, list[torch.Tensor]] = {}
        self._logit_index: dict[bytes, int] = {}
        self._logits: list[torch.Tensor] = []
        self._logit_rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's logits: from the cache if every row was filled, else computed."""
        keys = [r.tobytes() for r in np.ascontiguousarray(x.numpy())]
        if self._logits and all(k in self._logit_index for k in keys):
            return self._logits[0][torch.tensor([self._logit_index[k] for k in keys])].float()
        return self.teacher(x)

    def fill(self, x: np.ndarray, batch_size: int = 64, progress: Callable[[int, int], None] | None = None,
             *, internals: bool = True) -> CachedTeacher:
        """Run the teacher once over the rows of ``x`` not cached yet (``internals=False``: logits only)."""
        x = np.ascontiguousarray(x)
        first: dict[bytes, int] = {}
        for i, row in enumerate(x):
            first.setdefault(row.tobytes(), i)
        index = self._index if internals else self._logit_index
        todo = [i for k, i in first.items() if k not in index]
        if todo:  # shortest rows first
            todo = [todo[j] for j in np.argsort(np.count_nonzero(x[todo].reshape(len(todo), -1), 1), kind="stable")]
        new = x[todo]
        full = x.shape[1]
        with torch.no_grad():
            for start in range(0, len(new), batch_size):
                xb = torch.as_tensor(new[start:start + batch_size])
                if not internals:
                    self._add_logits(x[todo[start:start + batch_size]], self.teacher(self.trim(xb)))
                    if progress is not None:
                        progress(min(start + batch_size, len(new)), len(new))
                    continue
                out: Internals = self.teacher.forward_internals(xb)
                if out.logits is not None:
                    self._add_logits(x[todo[start:start + batch_size]], out.logits)
                pad = full - out.mask.shape[1]
                parts = {"embeddings": F.pad(out.embeddings, (0, 0, 0, pad)),
                         "mask": F.pad(out.mask, (0, pad), value=False), "logits": out.logits}
                parts.update({f"hidden{i}": F.pad(h, (0, 0, 0, pad)) for i, h in enumerate(out.hidden)})
                parts.update({f"attention{i}": F.pad(a, (0, pad, 0, pad)) for i, a in enumerate(out.attentions)})
                for k, v in parts.items():
                    if v is not None:
                        self._store.setdefault(k, []).append(v if v.dtype == torch.bool else v.to(torch.float16))
                for j in range(len(xb)):
                    self._index[x[todo[start + j]].tobytes()] = len(self._index)
                if progress is not None:
                    progress(min(start + batch_size, len(new)), len(new))
        self._store = {k: [torch.cat(v)] for k, v in self._store.items()}
        self._logits = [torch.cat(self._logits)] if self._logits else []
        return self

    def _add_logits(self, rows: np.ndarray, logits: torch.Tensor) -> None:
        for r in rows:  # a row filled again points at its newest logits
            self._logit_index[r.tobytes()] = self._logit_rows
            self._logit_rows += 1
        self._logits.append(logits.to(torch.float16))

    def forward_internals(self, xb: torch.Tensor) -> Internals:
        keys = [r.tobytes() for r in xb.numpy()]
        if not all(k in self._index for k in keys):
            return self.teacher.forward_internals(xb)
        idx = torch.tensor([self._index[k] for k in keys])
        length = self.trim(xb).shape[1]
        layers = sum(1 for k in self._store if k.startswith("hidden"))

        def get(name: str, seq_dims: int) -> torch.Tensor:
            t = self._store[name][0][idx].float()  # float16 in store: about 1e-3 relative error
            if seq_dims == 1:
                return t[:, :length]
            return t[:, :, :length, :length]

        mask = self._store["mask"][0][idx][:, :length]
        logits = self._store["logits"][0][idx].float() if "logits" in self._store else None
        return Internals(get("embeddings", 1), tuple(get(f"hidden{i}", 1) for i in range(layers)),
                         tuple(get(f"attention{i}", 2) for i in range(layers)), mask, logits)
