"""A seeded mutator of ``.tflite`` files, and what every mutant must end in (the fuzz test and bench).

Mutations, each drawn with the seed: flip 1-4 bits; overwrite an aligned 32-bit word with a random
int32 (offsets, indices, counts, shapes); truncate; zero a run of up to 64 bytes. Every mutant must
either be refused by the reader with a clear :class:`PocketMLError` (one problem line and one fix
line: never a traceback, never a hang), or be read into a graph whose integer reference equals
TFLite Micro running the mutant byte for byte (or that TFLite Micro itself refuses, in which case
``compile`` stops with exit 1 before writing anything).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.deploy.tflite.reader import read_tflite
from pocketml.deploy.tflite.runtimes import run_tflm_batch
from pocketml.errors import PocketMLError

MAX_MESSAGE = 2000  # characters of problem + fix: one paragraph, not a 13,321-character refusal


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One damaged copy of ``data`` and the kind of damage."""
    d = bytearray(data)
    kind = ("flip", "word", "truncate", "zero")[int(rng.integers(4))]
    if kind == "flip":
        for _ in range(int(rng.integers(1, 5))):
            d[int(rng.integers(len(d)))] ^= 1 << int(rng.integers(8))
    elif kind == "word":
        i = int(rng.integers(0, len(d) - 4)) & ~3
        d[i:i + 4] = int(rng.integers(-2**31, 2**31)).to_bytes(4, "little", signed=True)
    elif kind == "truncate":
        d = d[:int(rng.integers(0, len(d)))]
    else:
        i, n = int(rng.integers(len(d))), int(rng.integers(1, 64))
        d[i:i + n] = bytes(len(d[i:i + n]))
    return bytes(d), kind


@dataclass(frozen=True)
class FuzzOutcome:
    """What happened to every mutant (indices into the mutant list)."""

    cases: int
    refused: tuple[int, ...]  # clean PocketMLError from the reader
    exact: tuple[int, ...]  # read, and TFLite Micro agrees with the reference byte for byte
    tflm_refused: tuple[int, ...]  # read by pocketml, refused by TFLite Micro itself
    disagree: tuple[int, ...]  # read, run by both, different outputs: a bug
    crashed: tuple[int, ...]  # any other exception, or a message that is not one short paragraph: a bug
    messages: dict[int, str]

    def to_dict(self) -> dict:
        return {"cases": self.cases, "clean_errors": len(self.refused), "read_and_exact": len(self.exact),
                "read_but_tflm_refuses": len(self.tflm_refused), "disagree": len(self.disagree),
                "crashes": len(self.crashed)}


def fuzz(data: bytes, cases: int, seed: int = 0, samples: int = 8) -> FuzzOutcome:
    """Mutate ``data`` ``cases`` times and classify every mutant (see the module docstring)."""
    rng = np.random.default_rng(seed)
    refused, crashed, readable, messages = [], [], [], {}
    for k in range(cases):
        mutant, _ = mutate(data, rng)
        try:
            imp = read_tflite(mutant, "mutant")
            x = np.random.default_rng(k).integers(-128, 128, size=(samples, *imp.graph.input_info.shape),
                                                  dtype=np.int8)
            readable.append((k, mutant, x, imp))
        except PocketMLError as exc:
            messages[k] = str(exc)
            ok = len(str(exc)) <= MAX_MESSAGE and "Traceback" not in str(exc) and "\n" not in exc.problem
            (refused if ok else crashed).append(k)
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            messages[k] = f"{type(exc).__name__}: {exc}"
            crashed.append(k)
    runs = run_tflm_batch([(m, x.reshape(len(x), *imp.input.shape[1:])) for _, m, x, imp in readable])
    exact, tflm_refused, disagree = [], [], []
    for (k, _, x, imp), run in zip(readable, runs, strict=True):
        if run.outputs is None:
            tflm_refused.append(k)
            messages[k] = run.error or ""
            continue
        ref = imp.graph.run_flat(x)
        (exact if np.array_equal(run.outputs.astype(np.int8), ref[:, :run.outputs.shape[1]]) else disagree).append(k)
    return FuzzOutcome(cases, tuple(refused), tuple(exact), tuple(tflm_refused), tuple(disagree), tuple(crashed),
                       messages)
