"""TinyBERT end to end: fine-tune the teacher, distil in two stages, deploy int8 ONNX, time it beside the teacher.

    setup = prepare("minilm", "stdlib-chapter")              # tokenized data, fine-tuned + pretrained teacher
    student = train_student(setup, StudentShape(layers=2, hidden=128), DistillConfig(...))
    result = distill_text("out/distill")                      # all of it; writes out/distill/result.json

Teacher outputs are computed once per row (``CachedTeacher``) and shared by every student trained
on the same ``setup`` (the bench trains 3 seeds x 7 variants on one): internals for the general
passages and the training texts, logits only for the augmented and unlabelled rows.

The task stage's prediction-layer step also sees (TinyBERT's data augmentation and distillation on
unlabelled in-domain text): ``AugmentConfig.copies`` word-piece-swapped copies of every training
text (``pocketml.nlp.augment``) and the docstrings of standard-library modules outside the task
(``corpus.unlabelled_docstrings``, near-duplicates of any task text removed), all labelled by the
fine-tuned teacher's soft logits. ``prepare(holdout=0.2)`` replaces the test split by a stratified
validation split carved from the training texts: the defaults below were chosen on it, never on
the test split (docs/tinybert.md).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pocketml.compress.distill import DistillConfig, distill
from pocketml.compress.distill.cache import CachedTeacher
from pocketml.data.dataset import Split
from pocketml.errors import PocketMLError
from pocketml.nlp.augment import AugmentConfig, Augmenter
from pocketml.nlp.corpus import TextTask, docstring_task, general_corpus, unlabelled_docstrings
from pocketml.nlp.encoder import TextClassifier, param_count, trim_padding
from pocketml.nlp.student import check_student_shape, make_student, reduced_vocabulary
from pocketml.nlp.teacher import load_teacher, teacher_tokenizer_file
from pocketml.nlp.tokens import WordPieceTokenizer
from pocketml.nlp.training import accuracy, train_supervised
from pocketml.outputs import OutputFolder, atomic_path, write_atomic

TASKS: dict[str, Callable[[], TextTask]] = {"stdlib-chapter": docstring_task}
Progress = Callable[[str, int, int], None]

# Defaults chosen on a validation split carved from the training texts (prepare(holdout=0.2)), see docs/tinybert.md.
DEFAULT_DISTILL = DistillConfig(temperature=2.0, alpha=1.0, hidden_weight=0.0, attention_weight=1.0,
                                embedding_weight=1.0, general_epochs=2, task_intermediate_epochs=2, task_epochs=6,
                                lr=1e-3, batch_size=32)
DEFAULT_AUGMENT = AugmentConfig(copies=10, probability=0.4, neighbours=15)
NO_TEACHER_EPOCHS = 20  # the labels-only baseline: 905 texts need more passes than ~11.6k teacher-labelled rows
GENERAL_PASSAGES = 800  # first passages of the general corpus (of 2,115): keeps a run to minutes on 2 cores
REFERENCE_HIDDEN = 128  # the student width and depth DEFAULT_DISTILL.lr (1e-3) was chosen for (validation split)
REFERENCE_LAYERS = 2


def student_lr(lr: float, hidden: int, layers: int = REFERENCE_LAYERS) -> float:
    """Adam's learning rate for a student of that shape: ``lr`` x min(1, 128 / hidden) x min(1, 2 / layers).

    Adam moves every weight by about ``lr`` per step whatever its gradient, while a wider layer's
    initial weights are smaller (PyTorch's Linear init: std 1/sqrt(3·fan_in)), so the same ``lr``
    changes a wide layer relatively more (μP's rule for Adam: the rate of hidden weights goes as
    1/width), and in a post-LayerNorm stack the changes of the layers add up with depth. At 1e-3 a
    4x312 student collapsed (every text mapped to the same vector: logits' std across texts 5e-5,
    accuracy = the majority class) and a 4x128 one sat on a plateau until the cosine decay had
    lowered the rate (docs/tinybert.md, "Learning rate and width"). Never above ``lr``: the rate was
    tuned for 2x128, smaller students keep it.
    """
    return lr * min(1.0, REFERENCE_HIDDEN / hidden) * min(1.0, REFERENCE_LAYERS / layers)


@dataclass(frozen=True)
class StudentShape:
    layers: int = 2
    hidden: int = 128
    heads: int = 4          # each student head learns the mean of 3 adjacent teacher heads
    ffn: int | None = None  # 4 x hidden
    init: str = "pca"       # embedding rows from the teacher's (PCA) or "random"


@dataclass
class TextSetup:
    """Everything shared by the students of one run (built by :func:`prepare`)."""

    task: TextTask                       # after any subsampling
    tokenizer: WordPieceTokenizer
    general_x: np.ndarray
    train: Split
    test: Split
    teacher: TextClassifier              # fine-tuned on the task
    pretrained: TextClassifier           # the teacher as shipped (general distillation mimics it)
    cached_teacher: CachedTeacher
    cached_pretrained: CachedTeacher
    kept: np.ndarray
    remap: torch.Tensor
    teacher_score: float
    seconds: dict[str, float] = field(default_factory=dict)
    augmented: Split | None = None       # word-piece-swapped copies of train (labels: their source's)
    unlabelled: Split | None = None      # other stdlib docstrings (labels -1: teacher logits only)
    holdout: float = 0.0                 # > 0: `test` is a validation split carved from the training texts

    def extra(self, augmented: bool = True, unlabelled: bool = True) -> Split | None:
        """The prediction-layer step's extra rows (teacher-labelled), by kind."""
        parts = [p for p, on in ((self.augmented, augmented), (self.unlabelled, unlabelled)) if on and p is not None]
        if not parts:
            return None
        return Split(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]))


def _tick(progress: Progress | None, stage: str):
    return (lambda done, total: progress(stage, done, total)) if progress else None


def prepare(teacher: str = "minilm", task: str = "stdlib-chapter", *, max_len: int = 32, teacher_epochs: int = 3,
            teacher_lr: float = 1e-4, seed: int = 0, general_limit: int | None = GENERAL_PASSAGES,
            task_limit: int | None = None, teacher_file: Path | None = None,
            augment: AugmentConfig | None = DEFAULT_AUGMENT, unlabelled: bool = True,
            unlabelled_limit: int | None = None, holdout: float = 0.0,
            progress: Progress | None = None) -> TextSetup:
    """Tokenize, fine-tune the teacher (or load ``teacher_file`` if it exists; saved there otherwise), fill caches.

    ``augment`` (None: none) makes the augmented copies of the training texts; ``unlabelled`` adds the
    other modules' docstrings (at most ``unlabelled_limit``); ``holdout`` > 0 sets the test split
    aside entirely and scores on that fraction of the training texts instead (choosing settings).
    """
    if task not in TASKS:
        raise PocketMLError(f"unknown text task {task!r}", f"pick one of {', '.join(TASKS)}")
    if not 0.0 <= holdout < 1.0:
        raise PocketMLError(f"holdout {holdout} must be in [0, 1)",
                            "e.g. holdout=0.2 (a fifth of train for validation)")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    data = TASKS[task]()
    every_task_text = list(data.train_text) + list(data.test_text)  # unlabelled text must be none of these
    if task_limit is not None:
        data = _subsample(data, task_limit, seed)
    if holdout > 0:
        data = _validation_task(data, holdout, seed)
    tok = WordPieceTokenizer(teacher_tokenizer_file(teacher), max_len)
    general_x = tok.encode(general_corpus(general_limit))
    train = Split(tok.encode(data.train_text), data.train_y)
    test = Split(tok.encode(data.test_text), data.test_y)
    train_x = train.x
    aug = unl = None
    pretrained = load_teacher(teacher)
    fine = load_teacher(teacher, classes=len(data.classes), seed=seed)
    seconds["data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if teacher_file is not None and Path(teacher_file).is_file():
        fine.load_state_dict(torch.load(teacher_file, weights_only=True))
    else:
        train_supervised(fine, train, epochs=teacher_epochs, lr=teacher_lr, seed=seed, freeze_embeddings=True,
                         progress=_tick(progress, "teacher"))
        if teacher_file is not None:
            _atomic_save(fine.state_dict(), Path(teacher_file))
    fine.eval()
    seconds["teacher_finetune"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if augment is not None and augment.copies > 0:
        # neighbours in the teacher's input embedding table (frozen while fine-tuning: the pretrained one)
        rows, source = Augmenter(fine.encoder.word.weight, tok.vocabulary(), augment).augment(train_x)
        aug = Split(rows, train.y[source])
    if unlabelled:
        texts = unlabelled_docstrings(every_task_text)[:unlabelled_limit]
        unl = Split(tok.encode(texts), np.full(len(texts), -1, np.int64))
    seconds["augment"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    extra = [p.x for p in (aug, unl) if p is not None]
    kept, remap = reduced_vocabulary(general_x, train_x, *extra, teacher_vocab=fine.config.vocab)
    cached_pre = CachedTeacher(pretrained, trim_padding).fill(general_x, progress=_tick(progress, "teacher cache"))
    cached_fine = CachedTeacher(fine, trim_padding).fill(train_x, progress=_tick(progress, "teacher cache"))
    for x in extra:
        cached_fine.fill(x, progress=_tick(progress, "teacher logits"), internals=False)
    seconds["teacher_cache"] = time.perf_counter() - t0
    return TextSetup(data, tok, general_x, train, test, fine, pretrained, cached_fine, cached_pre, kept, remap,
                     accuracy(fine, test), seconds, aug, unl, holdout)


def _validation_task(task: TextTask, fraction: float, seed: int) -> TextTask:
    """The training texts split again, stratified: ``fraction`` of each class becomes the "test" part."""
    rng = np.random.default_rng(seed + 1000)
    val = np.zeros(len(task.train_y), bool)
    for c in np.unique(task.train_y):
        idx = rng.permutation(np.flatnonzero(task.train_y == c))
        val[idx[:int(round(len(idx) * fraction))]] = True
    tr, va = np.flatnonzero(~val), np.flatnonzero(val)
    return replace(task, train_text=tuple(task.train_text[i] for i in tr), train_y=task.train_y[tr],
                   test_text=tuple(task.train_text[i] for i in va), test_y=task.train_y[va])


def _subsample(task: TextTask, n: int, seed: int) -> TextTask:
    """At most ``n`` training and ``n`` test texts, drawn at random (small runs, tests)."""
    rng = np.random.default_rng(seed)
    tr = rng.permutation(len(task.train_text))[:n]
    te = rng.permutation(len(task.test_text))[:n]
    return replace(task, train_text=tuple(task.train_text[i] for i in tr), train_y=task.train_y[tr],
                   test_text=tuple(task.test_text[i] for i in te), test_y=task.test_y[te])


def train_student(setup: TextSetup, shape: StudentShape = StudentShape(), config: DistillConfig = DEFAULT_DISTILL,
                  *, use_teacher: bool = True, augmented: bool = True, unlabelled: bool = True,
                  no_teacher_epochs: int = NO_TEACHER_EPOCHS, progress: Progress | None = None) -> TextClassifier:
    """One student: two-stage distillation (``use_teacher=False``: the same student, cross-entropy only).

    ``augmented``/``unlabelled`` choose which of the setup's extra rows join the prediction-layer
    step (the ablations turn them off); the labels-only student trains ``no_teacher_epochs`` on
    the training texts alone. ``config.lr`` is the rate of a 2x128 student; wider or deeper
    students train at :func:`student_lr` of it.
    """
    student = make_student(setup.teacher, setup.kept, setup.remap, layers=shape.layers, hidden=shape.hidden,
                           heads=shape.heads, ffn=shape.ffn, classes=len(setup.task.classes),
                           max_positions=setup.tokenizer.max_len, init=shape.init, seed=config.seed)
    config = replace(config, lr=student_lr(config.lr, shape.hidden, shape.layers))  # the same for 2x128
    if not use_teacher:
        return train_supervised(student, setup.train, epochs=no_teacher_epochs,
                                lr=config.lr, batch_size=config.batch_size, seed=config.seed + 1,
                                progress=_tick(progress, "task"))
    return distill(setup.cached_teacher, student, setup.general_x, setup.train, config,
                   general_teacher=setup.cached_pretrained, progress=progress,
                   extra=setup.extra(augmented, unlabelled))


def bow_baseline(task: TextTask) -> float:
    """Bag-of-words (word 1-2 grams, tf-idf) logistic regression; C by 5-fold CV on the training set."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV

    vec = TfidfVectorizer(ngram_range=(1, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's notices of future defaults
        clf = LogisticRegressionCV(Cs=[0.1, 1, 10, 100], cv=5, max_iter=3000).fit(vec.fit_transform(task.train_text),
                                                                                  task.train_y)
    return float(np.mean(clf.predict(vec.transform(task.test_text)) == task.test_y))


@dataclass(frozen=True)
class TextDistillResult:
    """What ``pocketml distill`` writes to OUT/result.json (see README ``## TinyBERT distillation``)."""

    teacher: dict
    student: dict
    task: dict
    distill: dict
    ratios: dict
    onnx: dict
    latency_ms: dict
    seconds: dict
    files: dict

    def to_dict(self) -> dict:
        return asdict(self)


def student_record(student: TextClassifier, shape: StudentShape) -> dict:
    c = student.config
    return {"layers": c.layers, "hidden": c.hidden, "heads": c.heads, "ffn": c.ffn, "vocab": c.vocab,
            "init": shape.init, "params": param_count(student),
            "remap_bytes": int(student.remap.numel() * student.remap.element_size()) if student.remap is not None
            else 0}


def distill_text(out: str | Path, *, teacher: str = "minilm", task: str = "stdlib-chapter",
                 shape: StudentShape = StudentShape(), config: DistillConfig = DEFAULT_DISTILL,
                 max_len: int = 32, teacher_epochs: int = 3, compare_no_teacher: bool = True,
                 latency_rounds: int = 30, general_limit: int | None = GENERAL_PASSAGES, task_limit: int | None = None,
                 augment: AugmentConfig | None = DEFAULT_AUGMENT, unlabelled: bool = True,
                 unlabelled_limit: int | None = None, no_teacher_epochs: int = NO_TEACHER_EPOCHS,
                 progress: Progress | None = None, force: bool = False) -> TextDistillResult:
    """Fine-tune the teacher, distil a student, export it (float + int8 ONNX), time both; write OUT/result.json.

    ``augment`` (None or copies=0: no augmentation) and ``unlabelled`` choose the extra teacher-labelled
    rows of the prediction-layer step; ``no_teacher_epochs`` = 0 skips the labels-only comparison
    (``student.score_no_teacher`` is then null). OUT is written all or nothing (``force`` as for
    :class:`pocketml.outputs.OutputFolder`).
    """
    from pocketml.nlp.teacher import teacher_folder

    out = Path(out)
    folder = OutputFolder(out, force=force, command="distill")
    folder.check()
    teacher_folder(teacher)  # a missing teacher package fails before any work
    if task not in TASKS:
        raise PocketMLError(f"unknown text task {task!r}", f"pick one of {', '.join(TASKS)}")
    from pocketml.nlp.encoder import EncoderConfig
    from pocketml.nlp.teacher import teacher_config

    check_student_shape(EncoderConfig(vocab=1, hidden=shape.hidden, layers=shape.layers, heads=shape.heads,
                                      ffn=shape.ffn or 4 * shape.hidden).check(),
                        teacher_config(teacher_folder(teacher)))
    config.check()
    if augment is not None:
        augment.check()
    setup = prepare(teacher, task, max_len=max_len, teacher_epochs=teacher_epochs, seed=config.seed,
                    general_limit=general_limit, task_limit=task_limit, augment=augment, unlabelled=unlabelled,
                    unlabelled_limit=unlabelled_limit, progress=progress)
    seconds = dict(setup.seconds)
    t0 = time.perf_counter()
    student = train_student(setup, shape, config, progress=progress)
    seconds["distill"] = time.perf_counter() - t0
    score = accuracy(student, setup.test)
    baseline = None
    if compare_no_teacher and no_teacher_epochs > 0:
        t0 = time.perf_counter()
        plain = train_student(setup, replace(shape, init="random"), config, use_teacher=False,
                              no_teacher_epochs=no_teacher_epochs, progress=progress)
        baseline = accuracy(plain, setup.test)
        seconds["no_teacher"] = time.perf_counter() - t0
    with folder.stage() as work:
        t0 = time.perf_counter()
        deployed = deploy_and_time(setup, student, work / "onnx", rounds=latency_rounds)
        seconds["deploy_and_latency"] = time.perf_counter() - t0
        result = _distill_result(setup, student, shape, config, augment, teacher, task, teacher_epochs, max_len,
                                 score, baseline, deployed, seconds, work, out)
        write_atomic(work / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _distill_result(setup, student, shape, config, augment, teacher, task, teacher_epochs, max_len, score, baseline,
                    deployed, seconds, work: Path, out: Path) -> TextDistillResult:
    def shown(path) -> str:  # where a staged file will be once OUT is committed
        return str(out / Path(path).relative_to(work))

    check, lat, s_export, s_int8, t_export = (deployed.check, deployed.latency, deployed.student_onnx,
                                              deployed.student_int8, deployed.teacher_onnx)
    t_params, s_params = param_count(setup.teacher), param_count(student)
    return TextDistillResult(
        teacher={"name": teacher, "params": t_params, "score": setup.teacher_score,
                 "layers": setup.teacher.config.layers, "hidden": setup.teacher.config.hidden,
                 "finetune_epochs": teacher_epochs},
        student={**student_record(student, shape), "score": score, "score_no_teacher": baseline},
        task={"name": task, "classes": list(setup.task.classes), "train": len(setup.train.x),
              "test": len(setup.test.x), "general_passages": len(setup.general_x), "max_len": max_len,
              "metric": "accuracy", "bow_logreg": bow_baseline(setup.task),  # same (sub)sampled task
              "augmented": len(setup.augmented.x) if setup.augmented is not None else 0,
              "unlabelled": len(setup.unlabelled.x) if setup.unlabelled is not None else 0},
        distill={**asdict(config), "student_lr": student_lr(config.lr, shape.hidden, shape.layers),
                 "augment": asdict(augment) if augment is not None else None},
        ratios={"params": t_params / s_params, "score": score / setup.teacher_score,
                "speedup_torch": lat["teacher_torch"].median_ms / lat["student_torch"].median_ms,
                "speedup_onnx": lat["teacher_onnx"].median_ms / lat["student_onnx"].median_ms,
                "speedup_int8_vs_teacher_onnx": lat["teacher_onnx"].median_ms / lat["student_int8"].median_ms},
        onnx={"float_bytes": check.float_bytes, "int8_bytes": check.int8_bytes, "teacher_bytes": t_export.bytes,
              "max_abs_diff_vs_torch": s_export.max_abs_diff, "int8_agreement": check.agreement,
              "float_score": check.float_accuracy, "int8_score": check.int8_accuracy},
        latency_ms={k: asdict(v) for k, v in lat.items()},
        seconds=seconds,
        files={"student_onnx": shown(s_export.path), "student_int8": shown(s_int8),
               "teacher_onnx": shown(t_export.path)},
    )


@dataclass(frozen=True)
class Deployed:
    """The student's ONNX float/int8 files and checks, the teacher's ONNX file, latencies side by side."""

    student_onnx: object  # pocketml.deploy.onnx.OnnxExport
    student_int8: Path
    teacher_onnx: object
    check: object         # pocketml.nlp.deploy.Int8Check
    latency: dict         # name -> pocketml.nlp.deploy.Latency


def deploy_and_time(setup: TextSetup, student: TextClassifier, folder: Path, rounds: int = 30) -> Deployed:
    """Export student (float + int8) and teacher to ONNX, check int8 on the test set, time all five in one run."""
    from pocketml.nlp.deploy import check_int8, export_int8, measure_latency, onnx_runner, torch_runner

    s_export, s_int8 = export_int8(student, setup.test.x[:8], folder, "student")
    t_export = _export_teacher(setup.teacher, setup.test.x[:8], folder)
    check = check_int8(s_export.path, s_int8, setup.test.x, setup.test.y)
    runners = {"teacher_torch": torch_runner(setup.teacher), "student_torch": torch_runner(student),
               "teacher_onnx": onnx_runner(t_export.path), "student_onnx": onnx_runner(s_export.path),
               "student_int8": onnx_runner(s_int8)}
    return Deployed(s_export, s_int8, t_export, check, measure_latency(runners, setup.test.x, rounds=rounds))


def _export_teacher(teacher: TextClassifier, example: np.ndarray, folder: Path):
    from pocketml.deploy.onnx import export_onnx

    return export_onnx(teacher, example, folder / "teacher.onnx", atol=1e-4)


def _atomic_save(state: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
