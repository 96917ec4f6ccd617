"""A seeded mutation fuzzer for ``.npz`` data files (``shrink --data``), shared by the test and the bench.

Each case damages a valid ``.npz`` one way, chosen by a seeded ``random.Random``:

* raw bytes: flip bits anywhere, overwrite a run, zero a run, truncate, append garbage, or
  damage a zip header's size fields (the archive's CRCs then no longer match);
* members, re-zipped with correct CRCs (so only pocketml's own checks can catch them): flip bytes
  in a member's ``.npy`` header, truncate a member, claim another shape (up to 6.4e9 values) or
  dtype (complex, string, object, bool, integer), drop or rename a member.

Every case must end one of two ways, never a third:

* **clean error**: ``pocketml.cli.main`` exits 1 printing one paragraph (``error: ...`` then
  ``fix: ...``, no traceback) and leaves no OUT folder;
* **correct run**: the file is accepted. If its arrays are the original's (e.g. only a timestamp
  changed), the original's verified run stands for it; otherwise it is run end to end (``run``
  callback) and must exit 0 (or 1 cleanly).
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RAW = ("flip", "overwrite", "zero", "truncate", "append", "zip-size")
MEMBER = ("header-flip", "member-truncate", "shape", "dtype", "drop", "rename")


@dataclass
class FuzzCounts:
    """Outcomes of a fuzz run: ``crashes`` must stay empty."""

    cases: int = 0
    clean_errors: int = 0
    unchanged: int = 0  # accepted, arrays identical to the original's: the original run stands
    ran: int = 0  # accepted with different arrays, run end to end: exit 0 or a clean exit 1
    not_run: int = 0  # accepted with different arrays, over the end-to-end budget (the bench runs them all)
    kinds: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)  # (kind of damage, outcome) -> cases
    crashes: list[str] = field(default_factory=list)


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One damaged copy of an ``.npz`` file's bytes, and the name of the damage."""
    kind = rng.choice(RAW + MEMBER)
    b = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        start = rng.randrange(len(b))
        b[start:start + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
    elif kind == "zero":
        start = rng.randrange(len(b))
        b[start:start + rng.randint(1, 256)] = bytes(min(256, len(b) - start))
    elif kind == "truncate":
        b = b[:rng.randrange(len(b))]
    elif kind == "append":
        b += rng.randbytes(rng.randint(1, 512))
    elif kind == "zip-size":  # a local or central header's size fields
        head = rng.choice([m.start() for m in re.finditer(rb"PK\x03\x04|PK\x01\x02", bytes(b))])
        at = head + (18 if b[head + 2] == 3 else 20) + rng.choice([0, 4])  # compressed or uncompressed size
        b[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 2**31, 2**32 - 1, rng.randrange(2**32)]))
    else:
        return kind, _mutate_member(data, kind, rng)
    return kind, bytes(b)


def _mutate_member(data: bytes, kind: str, rng: random.Random) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    name = rng.choice(sorted(members))
    raw = bytearray(members[name])
    header_end = raw.index(b"\n") + 1
    if kind == "header-flip":
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(header_end)] = rng.randrange(32, 127)
    elif kind == "member-truncate":
        raw = raw[:rng.randrange(len(raw))]
    elif kind in ("shape", "dtype"):
        header = raw[:header_end].decode("latin1")
        if kind == "shape":
            shape = rng.choice(["(6400000000,)", "()", "(0,)", "(1,)", "(3, 2)", "(-1,)", "(2**40,)",
                                "(1, 1, 1, 1, 1)"])
            header = re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", header)
        else:
            descr = rng.choice(["<c8", "<U3", "|O", "|b1", "<i4", "<f8", "<f2", "|u1", "<V4", ">f4"])
            header = re.sub(r"'descr': '[^']*'", f"'descr': '{descr}'", header)
        body = header.rstrip("\n").rstrip()
        header = body + " " * max(0, header_end - len(body) - 1) + "\n"
        raw = bytearray(header.encode("latin1")) + raw[header_end:]
    elif kind == "drop":
        del members[name]
        raw = None
    else:  # rename
        del members[name]
        name = rng.choice(["x_train.npy", "y_test", "x_test.npy.npy", "X_TRAIN.npy", "../y_test.npy"])
    if raw is not None:
        members[name] = bytes(raw)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for member, content in members.items():
            z.writestr(member, content)
    return buf.getvalue()


def call_main(*args) -> tuple[int, str, str]:
    """``pocketml.cli.main()`` in this process: (exit code, stdout, stderr)."""
    import contextlib
    import logging
    import signal
    import sys

    from pocketml.cli import main

    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    previous, raise_exc = signal.getsignal(signal.SIGTERM), logging.raiseExceptions
    sys.argv, logging.raiseExceptions = ["pocketml", *map(str, args)], False
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, logging.raiseExceptions = argv, raise_exc
        signal.signal(signal.SIGTERM, previous)
    return code, out.getvalue(), err.getvalue()


def fuzz(original: Path, n: int, seed: int, work: Path, cli: Callable[..., tuple[int, str]],
         run: Callable[[Path], int] | None = None, run_budget: int | None = None) -> FuzzCounts:
    """Run ``n`` mutants of ``original`` (a valid ``.npz``) through the data boundary.

    ``cli(data_path, out_path) -> (exit code, stderr)`` runs ``pocketml shrink --data`` through
    ``main()`` (called only for files ``load_npz`` refuses, so the model is never loaded for
    them); ``run(data_path) -> exit code`` runs an accepted file with changed arrays end to end,
    at most ``run_budget`` times (None: all).
    """
    from pocketml.data.files import load_npz
    from pocketml.errors import PocketMLError

    good_x, good_test = load_npz(original)
    rng = random.Random(seed)
    counts = FuzzCounts()
    base = original.read_bytes()
    for i in range(n):
        kind, data = mutate(base, rng)
        counts.cases += 1
        counts.kinds[kind] += 1
        path, out = work / f"case{i}.npz", work / f"out{i}"
        path.write_bytes(data)
        try:
            x, test = load_npz(path)
        except PocketMLError:
            code, err = cli(path, out)
            lines = [line for line in err.splitlines() if line.strip()]
            one_paragraph = (len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("fix: ")
                             and "Traceback" not in err)
            if code == 1 and one_paragraph and not out.exists():
                counts.clean_errors += 1
                counts.outcomes[kind, "clean error"] += 1
            else:
                counts.crashes.append(f"case {i} ({kind}): exit {code}, OUT left: {out.exists()}: {err[-300:]}")
            continue
        except Exception as exc:  # noqa: BLE001 - anything but a PocketMLError is a crash
            counts.crashes.append(f"case {i} ({kind}): {type(exc).__name__}: {exc}")
            continue
        if (np.array_equal(x, good_x) and np.array_equal(test.x, good_test.x)
                and np.array_equal(test.y, good_test.y)):
            counts.unchanged += 1
            counts.outcomes[kind, "unchanged"] += 1
        elif run is not None and (run_budget is None or counts.ran < run_budget):
            code = run(path)
            counts.ran += 1
            counts.outcomes[kind, f"ran, exit {code}"] += 1
            if code not in (0, 1):
                counts.crashes.append(f"case {i} ({kind}): end-to-end run exited {code}")
        else:
            counts.not_run += 1
            counts.outcomes[kind, "not run"] += 1
    return counts
