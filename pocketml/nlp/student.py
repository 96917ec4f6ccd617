"""Student transformers: fewer, narrower layers and a vocabulary reduced to the tokens the corpora use.

* :func:`reduced_vocabulary`: the teacher token ids that occur in the given (training) token arrays,
  plus the special tokens; every other id maps to [UNK]. The student's embedding table has one row
  per kept token instead of the teacher's 30,522 (MiniLM keeps 11.7M of its 22.7M parameters there).
  The remap is an int16 buffer of the teacher's vocabulary size inside the student (61 KB, reported
  as ``remap_bytes``; it is not a parameter).
* :func:`make_student`: a :class:`~pocketml.nlp.encoder.TextClassifier` with the student's shape;
  its embedding rows start from the teacher's rows of the kept tokens projected onto their top
  ``hidden`` principal directions (``init="pca"``), or random (``init="random"``).
"""

from __future__ import annotations

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.nlp.encoder import EncoderConfig, TextClassifier

SPECIAL = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}  # BERT uncased ids


def reduced_vocabulary(*token_arrays: np.ndarray, teacher_vocab: int = 30522) -> tuple[np.ndarray, torch.Tensor]:
    """(kept teacher ids, remap [teacher_vocab] → student row); row 0 is [PAD], unknown ids → [UNK]'s row."""
    used = set(SPECIAL.values())
    for a in token_arrays:
        used.update(np.unique(np.asarray(a)).tolist())
    kept = np.array(sorted(i for i in used if 0 <= i < teacher_vocab), np.int64)  # [PAD]=0 stays row 0
    remap = torch.full((teacher_vocab,), int(np.searchsorted(kept, SPECIAL["[UNK]"])), dtype=torch.int64)
    remap[torch.as_tensor(kept)] = torch.arange(len(kept))
    return kept, remap


def check_student_shape(config: EncoderConfig, teacher: EncoderConfig) -> None:
    """Refuse a student wider or deeper than the teacher, or whose layers cannot map onto the teacher's."""
    from pocketml.compress.distill.losses import layer_map

    if config.hidden > teacher.hidden or config.ffn > teacher.ffn:
        raise PocketMLError(f"the student (hidden {config.hidden}, ffn {config.ffn}) is wider than the teacher "
                            f"(hidden {teacher.hidden}, ffn {teacher.ffn})",
                            f"pick --hidden <= {teacher.hidden} (e.g. 128) and an ffn <= {teacher.ffn}")
    if teacher.heads % config.heads:
        raise PocketMLError(f"the teacher's {teacher.heads} heads cannot be grouped into {config.heads}",
                            f"pick a head count that divides {teacher.heads}")
    layer_map(config.layers, teacher.layers)


def make_student(teacher: TextClassifier, kept: np.ndarray, remap: torch.Tensor, *, layers: int = 2,
                 hidden: int = 192, heads: int = 12, ffn: int | None = None, classes: int, max_positions: int = 64,
                 init: str = "pca", seed: int = 0) -> TextClassifier:
    """A fresh student for ``teacher`` (``ffn`` defaults to 4 x hidden, as BERT)."""
    if init not in ("pca", "random"):
        raise PocketMLError(f"unknown embedding init {init!r}", "use init='pca' or init='random'")
    tc = teacher.config
    config = EncoderConfig(vocab=len(kept), hidden=hidden, layers=layers, heads=heads, ffn=ffn or 4 * hidden,
                           max_positions=max_positions, type_vocab=1, eps=tc.eps).check()
    check_student_shape(config, tc)
    torch.manual_seed(seed)
    student = TextClassifier(config, classes=classes, remap=remap)
    if init == "pca":
        with torch.no_grad():
            rows = teacher.encoder.word.weight[torch.as_tensor(kept)]
            centred = rows - rows.mean(0)
            _, _, v = torch.linalg.svd(centred, full_matrices=False)
            proj = centred @ v[:hidden].T
            if proj.shape[1] < hidden:  # fewer kept tokens than dimensions: the missing directions start at 0
                proj = torch.nn.functional.pad(proj, (0, hidden - proj.shape[1]))
            # unit variance, like PyTorch's default N(0, 1) rows of the position table it is summed with
            # (at the teacher's own scale, ~0.05, the positions would drown the words before the LayerNorm)
            student.encoder.word.weight.copy_(proj / proj.std())
    return student
