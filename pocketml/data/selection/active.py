"""The active-learning loop: label a seed set, then repeatedly retrain, query a batch, ask an oracle.

    seed set (random) ─▶ fit ─▶ score the unlabelled pool ─▶ query a batch ─▶ oracle labels it ─┐
                          ▲────────────────────────────────────────────────────────────────────┘

The oracle is any callable ``oracle(indices) -> labels`` (a person with a labelling tool, a
slow lab test; ``LabelOracle`` simulates one from known labels). After every answered batch
the loop writes its state (which samples are labelled, with what, and the learning curve so far)
atomically to a JSON file; if the oracle raises, the loop stops with a ``PocketMLError`` and the
same ``run(..., state=path)`` call resumes where it stopped. A resumed run picks exactly what an
uninterrupted run would have picked: every random choice is seeded by (seed, labels so far).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.data.selection.checks import as_features, check_labels
from pocketml.data.selection.diversity import hybrid_select, k_center_greedy
from pocketml.data.selection.embeddings import embed
from pocketml.data.selection.learners import accuracy, default_learner, fit_clone, proba_all_classes
from pocketml.data.selection.uncertainty import UNCERTAINTY, uncertainty
from pocketml.errors import PocketMLError
from pocketml.outputs import write_atomic

STRATEGIES = ("random", *UNCERTAINTY, "kcenter", "hybrid")
STATE_VERSION = 1


@dataclass(frozen=True)
class LearningCurve:
    """Test accuracy of the learner after each labelled batch, for one strategy and seed."""

    strategy: str
    seed: int
    n_labels: tuple[int, ...]
    accuracy: tuple[float, ...]

    def at(self, n_labels: int) -> float:
        """Accuracy when exactly ``n_labels`` samples were labelled (a checkpoint of the run)."""
        if n_labels not in self.n_labels:
            raise PocketMLError(f"the {self.strategy} curve has no point at {n_labels} labels",
                                f"pass it as a checkpoint; points: {list(self.n_labels)}")
        return self.accuracy[self.n_labels.index(n_labels)]

    def to_dict(self) -> dict:
        return {"strategy": self.strategy, "seed": self.seed, "n_labels": list(self.n_labels),
                "accuracy": list(self.accuracy)}


class LabelOracle:
    """A simulated oracle: answers with the known labels and counts what it was asked."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = np.asarray(labels)
        self.asked = 0

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        self.asked += len(indices)
        return self.labels[np.asarray(indices)]


def pool_fingerprint(x: np.ndarray) -> str:
    """A short hash of the pool, so a saved state is never resumed against different data."""
    x = np.ascontiguousarray(x)
    return hashlib.sha256(str(x.shape).encode() + x.tobytes()).hexdigest()[:16]


class ActiveLearner:
    """Pool-based active learning with a fixed strategy.

    Parameters
    ----------
    strategy : one of ``STRATEGIES`` (default ``"margin"``): ``random``; ``least-confidence``,
        ``margin``, ``entropy`` (uncertainty); ``kcenter`` (diversity on the learner's embedding:
        penultimate layer of a ``TorchClassifier``, raw features otherwise); ``hybrid`` (margin
        prefilter, k-means, most uncertain per cluster).
    learner : a scikit-learn classifier or ``TorchClassifier``, cloned and refitted every round
        (default: ``default_learner(seed)``, logistic regression).
    batch_size : samples queried per round (default 20).
    n_initial : random seed set labelled before the first model (default 20).
    prefilter : the hybrid's candidate pool, in batches (default 10).
    seed : seeds the seed set and every random choice (default 0).

    After ``run``: ``labeled_`` (pool indices in the order they were labelled), ``labels_``,
    ``curve_`` (a ``LearningCurve``, NaN accuracies without a test split) and ``model_``.
    """

    def __init__(self, strategy: str = "margin", learner=None, batch_size: int = 20, n_initial: int = 20,
                 prefilter: int = 10, seed: int = 0) -> None:
        self.strategy = strategy
        self.learner = learner
        self.batch_size = batch_size
        self.n_initial = n_initial
        self.prefilter = prefilter
        self.seed = seed

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, x_pool: np.ndarray, oracle: Callable[[np.ndarray], np.ndarray], n_labels: int, *,
            test: tuple[np.ndarray, np.ndarray] | None = None, checkpoints: tuple[int, ...] = (),
            n_classes: int | None = None, state: str | Path | None = None) -> ActiveLearner:
        """Label up to ``n_labels`` samples of ``x_pool``, asking ``oracle`` one batch at a time.

        ``test`` (x, y) gives the learning curve; ``checkpoints`` are label counts the batches are
        cut to land on exactly; ``state`` is a JSON file written after every batch and resumed
        from when it exists.
        """
        self._check_params()
        as_features(x_pool, "pool")  # NaN / empty rows refused here, before any oracle call
        x_pool = np.asarray(x_pool, dtype=np.float32)
        if not 1 <= n_labels <= len(x_pool):
            raise PocketMLError(f"n_labels is {n_labels}, the pool has {len(x_pool)} samples",
                                "ask for between 1 and the pool size labels")
        if test is not None:
            as_features(test[0], "test")
            test = (np.asarray(test[0], dtype=np.float32), check_labels(test[1], len(test[0]), "test"))
        learner = self.learner if self.learner is not None else default_learner(self.seed)
        stops = sorted({int(c) for c in checkpoints if 0 < c < n_labels} | {int(n_labels)})
        path = Path(state) if state is not None else None
        labeled, labels, curve = self._load(path, x_pool)

        def n_cls() -> int:
            seen = [int(max(labels)) + 1] if labels else [2]
            return max([n_classes or 0, *seen, *([int(test[1].max()) + 1] if test is not None else [])])

        model = self._fit(learner, x_pool, labeled, labels)
        while len(labeled) < n_labels:
            n = len(labeled)
            wanted = self.batch_size if model is not None or n >= self.n_initial else self.n_initial - n
            size = min(wanted, next(s for s in stops if s > n) - n)
            query = self._query(model, x_pool, labeled, size, n_cls())
            answer = self._ask(oracle, query, path, n)
            labeled += [int(i) for i in query]
            labels += [int(v) for v in answer]
            model = self._fit(learner, x_pool, labeled, labels)
            acc = accuracy(model, test[0], test[1], n_cls()) if (model is not None and test is not None) \
                else float("nan")
            curve.append((len(labeled), acc))
            self._save(path, x_pool, labeled, labels, curve)
        self.labeled_ = np.asarray(labeled, dtype=np.int64)
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.curve_ = LearningCurve(self.strategy, self.seed, tuple(n for n, _ in curve),
                                    tuple(a for _, a in curve))
        self.model_ = model
        return self

    def _check_params(self) -> None:
        if self.strategy not in STRATEGIES:
            raise PocketMLError(f"unknown selection strategy '{self.strategy}'",
                                f"use one of {', '.join(STRATEGIES)}")
        for name in ("batch_size", "n_initial", "prefilter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise PocketMLError(f"{name} must be a positive integer, got {value!r}",
                                    f"pass {name}=20 or another whole number ≥ 1")

    @staticmethod
    def _fit(learner, x_pool, labeled, labels):
        if len(set(labels)) < 2:
            return None  # no classifier from one class yet: keep querying at random
        return fit_clone(learner, x_pool[labeled], np.asarray(labels))

    def _query(self, model, x_pool, labeled, size, n_classes) -> np.ndarray:
        n = len(labeled)
        rng = np.random.default_rng([self.seed, n])
        unlabeled = np.setdiff1d(np.arange(len(x_pool)), labeled)
        if model is None or self.strategy == "random":
            return rng.choice(unlabeled, size=size, replace=False)
        if self.strategy == "kcenter":
            return k_center_greedy(embed(model, x_pool), size, centres=np.asarray(labeled), candidates=unlabeled,
                                   seed=int(rng.integers(2**31)))
        scores = uncertainty(proba_all_classes(model, x_pool[unlabeled], n_classes),
                             "margin" if self.strategy == "hybrid" else self.strategy)
        if self.strategy == "hybrid":
            return hybrid_select(embed(model, x_pool), scores, size, candidates=unlabeled,
                                 prefilter=self.prefilter, seed=int(rng.integers(2**31)))
        return unlabeled[np.argsort(-scores, kind="stable")[:size]]

    def _ask(self, oracle, query, path, n) -> np.ndarray:
        try:
            answer = oracle(query)
        except Exception as exc:  # the oracle is user code: any failure stops the loop cleanly
            where = f"the state is saved in {path}" if path is not None else "no state file was given"
            raise PocketMLError(
                f"the oracle raised {type(exc).__name__}: {exc} while labelling {len(query)} samples "
                f"(after {n} labels); {where}",
                "fix the oracle and call run() again with the same state= file: it resumes from there"
                if path is not None else "pass state='al_state.json' to run() so the loop can resume",
            ) from exc
        answer = np.asarray(answer)
        if answer.shape != (len(query),) or not np.issubdtype(answer.dtype, np.integer) or answer.min() < 0:
            raise PocketMLError(
                f"the oracle returned {answer.shape} {answer.dtype} for {len(query)} samples",
                "return one integer class id ≥ 0 per queried index, in the order asked")
        return answer

    # -- saved state --------------------------------------------------------------------------------
    def _params(self) -> dict:
        return {"strategy": self.strategy, "batch_size": int(self.batch_size), "n_initial": int(self.n_initial),
                "prefilter": int(self.prefilter), "seed": int(self.seed)}

    def _load(self, path: Path | None, x_pool: np.ndarray):
        if path is None or not path.exists():
            return [], [], []
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise PocketMLError(f"the active-learning state {path} cannot be read: {exc}",
                                "delete it to start over, or pass another state= path") from exc
        if doc.get("version") != STATE_VERSION or doc.get("params") != self._params():
            raise PocketMLError(f"the state {path} was saved by a loop with other settings "
                                f"({doc.get('params')})", "resume with the same settings, or use a new state file")
        if doc.get("pool") != pool_fingerprint(x_pool):
            raise PocketMLError(f"the state {path} was saved for a different pool of samples",
                                "resume with the same pool, or use a new state file")
        return list(doc["labeled"]), list(doc["labels"]), [tuple(p) for p in doc["curve"]]

    def _save(self, path: Path | None, x_pool, labeled, labels, curve) -> None:
        if path is None:
            return
        doc = {"version": STATE_VERSION, "params": self._params(), "pool": pool_fingerprint(x_pool),
               "labeled": labeled, "labels": labels,
               "curve": [[n, None if np.isnan(a) else a] for n, a in curve]}
        write_atomic(path, json.dumps(doc))


@dataclass(frozen=True)
class CurveComparison:
    """Learning curves of several strategies over several seeds, with the full-data reference."""

    budgets: tuple[int, ...]  # label counts every curve has a point at
    pool_size: int
    curves: tuple[LearningCurve, ...]
    full_accuracy: tuple[float, ...]  # learner trained on the whole labelled pool, one per seed
    learner: str

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.strategy for c in self.curves))

    def at(self, strategy: str, n_labels: int) -> np.ndarray:
        """Accuracy at ``n_labels`` for each seed of ``strategy``."""
        return np.array([c.at(n_labels) for c in self.curves if c.strategy == strategy])

    def labels_to_reach(self, strategy: str, target: float) -> int | None:
        """Fewest labels at which the seed-mean accuracy reaches ``target`` (None: never)."""
        points = sorted(set().union(*(c.n_labels for c in self.curves if c.strategy == strategy)))
        for n in points:
            accs = [c.accuracy[c.n_labels.index(n)] for c in self.curves
                    if c.strategy == strategy and n in c.n_labels]
            if len(accs) == len(self.full_accuracy) and np.mean(accs) >= target:
                return n
        return None

    def to_dict(self) -> dict:
        return {"budgets": list(self.budgets), "pool_size": self.pool_size, "learner": self.learner,
                "full_accuracy": list(self.full_accuracy), "curves": [c.to_dict() for c in self.curves]}


def compare_strategies(x: np.ndarray, y: np.ndarray, test: tuple[np.ndarray, np.ndarray], *,
                       strategies: tuple[str, ...] = ("random", "margin", "entropy", "kcenter", "hybrid"),
                       budgets: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5), seeds: tuple[int, ...] = (0,),
                       learner=None, batch_size: int = 20, n_initial: int = 20,
                       progress: Callable[[str], None] | None = None) -> CurveComparison:
    """Run the loop for each strategy and seed with a simulated oracle (labels ``y``), up to the
    largest budget (fractions of the pool), and train once on all of ``(x, y)`` for reference."""
    as_features(x, "pool")
    y = check_labels(y, len(x), "pool")
    counts = tuple(sorted({max(1, int(round(b * len(x)))) for b in budgets}))
    n_classes = int(max(y.max(), np.max(test[1])) + 1)
    curves, full = [], []
    for seed in seeds:
        base = learner if learner is not None else default_learner(seed)
        full.append(accuracy(fit_clone(base, x, y), test[0], test[1], n_classes))
        for strategy in strategies:
            if progress is not None:
                progress(f"{strategy}, seed {seed}")
            loop = ActiveLearner(strategy, base, batch_size=batch_size, n_initial=n_initial, seed=seed)
            loop.run(x, LabelOracle(y), counts[-1], test=test, checkpoints=counts, n_classes=n_classes)
            curves.append(loop.curve_)
    return CurveComparison(counts, len(x), tuple(curves), tuple(full), type(learner or default_learner()).__name__)
