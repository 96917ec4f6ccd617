"""``pocketml compile`` on third-party int8 .tflite models: compiled or why not, exact, arena vs TFLite Micro.

    .venv/bin/python bench/third_party.py --mirrors DIR [--samples 200] [--device nano33ble] [--only NAME]
    .venv/bin/python bench/third_party.py --mirrors DIR --extract-only FOLDER   # just the files

The models are listed in ``bench/third_party_models.toml`` (repository, commit, path and git blob id
of each, from public repositories; none is committed here). They are read out of git repositories of
those projects: ``--mirrors DIR`` holds one per repository, as ``DIR/<owner>+<name>/repo`` (a bare
mirror) or ``DIR/<owner>/<name>`` (a clone); one that is missing is cloned there with
``git clone --bare https://github.com/<owner>/<name>`` (needs the network; nothing else is downloaded).
Each extracted file must hash to its listed blob id, so the bytes are exactly the listed ones.

Per model, as a user would run it (``pocketml.compile_tflite``, the code of ``pocketml compile``):

* compiled, or refused and why (every blocking operator kind with its count, from
  ``pocketml compile --check``, or the error of a later step);
* ``--samples`` inputs (``probe_inputs``: around the input zero point with a realistic spread, see
  docs/compile.md "What is verified") run through the numpy reference, the emitted C (host build)
  and TFLite Micro running the **original file**; mismatches = samples whose output differs in any
  byte; QEMU (Cortex-M4 build of the C) on the inputs that fit its instruction budget;
* distinct outputs among those samples (how well the inputs tell models apart: 1 means every input
  gave the same answer, and agreement then proves little);
* arena: pocketml's planned arena, and with the input and output buffers added (the C's caller owns
  those; TFLite Micro keeps them in its arena, with its own bookkeeping) and any memory the model
  keeps between invokes (SVDF's state: static arrays in our C, variable tensors in TFLite Micro's
  arena), vs TFLite Micro's smallest
  working arena **on the original file**, bisected to the byte in child processes
  (``smallest_tflm_arena``); the ratio compares like with like (arena + I/O).

The last lines count the models compiled, the ones byte-exact everywhere, and the blocking
operators of the refused ones over all models.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tomllib

MANIFEST = Path(__file__).with_name("third_party_models.toml")


@dataclass(frozen=True)
class Entry:
    """One listed model: where its bytes are, and the blob id they must hash to."""

    repo: str
    commit: str
    path: str
    blob: str
    bytes: int

    @property
    def name(self) -> str:
        return f"{self.repo.split('/')[0]}__{Path(self.path).stem}"


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    return [Entry(**m) for m in tomllib.loads(path.read_text())["model"]]


def _git_dir(mirrors: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / name / ".git", mirrors / owner / name):
        if (candidate / "HEAD").is_file():
            return candidate
    target = mirrors / f"{owner}+{name}" / "repo"
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"cloning {repo} into {target}", file=sys.stderr, flush=True)
    subprocess.run(["git", "clone", "--bare", "--quiet", f"https://github.com/{repo}", str(target)], check=True)
    return target


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def extract(entries: list[Entry], mirrors: Path, folder: Path) -> list[Path]:
    """Write each listed file to ``folder/<owner>__<stem>.tflite``, checked against its blob id."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for e in entries:
        git = _git_dir(mirrors, e.repo)
        data = subprocess.run(["git", f"--git-dir={git}", "cat-file", "blob", f"{e.commit}:{e.path}"],
                              check=True, capture_output=True).stdout
        if _blob_id(data) != e.blob:
            sys.exit(f"{e.repo}@{e.commit}:{e.path} does not hash to {e.blob} (an LFS pointer or another version?)")
        out = folder / f"{e.name}.tflite"
        out.write_bytes(data)
        paths.append(out)
    return paths


def blockers(path: Path) -> collections.Counter:
    """Each blocking operator kind of ``compile --check`` with its count ({} when it would compile)."""
    from pocketml.pipeline.from_tflite import check_tflite_model

    check = check_tflite_model(path)
    return collections.Counter(c.op for c in check.operators if not c.ok)


def bench_one(entry: Entry, path: Path, device: str, samples: int, tmp: Path) -> tuple[str, dict]:
    """One table row and its figures (``compiled``, ``exact``, ``blockers``)."""
    from pocketml.deploy.tflite.reader import read_tflite
    from pocketml.deploy.tflite.runtimes import smallest_tflm_arena
    from pocketml.errors import PocketMLError
    from pocketml.pipeline.from_tflite import compile_tflite, probe_inputs, source_inputs

    t0 = time.perf_counter()
    where = f"{entry.repo} `{entry.commit[:10]}` {entry.path}"
    try:
        blocked = blockers(path)
        if blocked:
            why = ", ".join(f"{op} ×{n}" for op, n in blocked.most_common())
            return f"| {entry.name} | {where} | **no**: {why} |" + " |" * 10, {"compiled": False, "blockers": blocked}
        compile_tflite(path, device, tmp / path.stem, samples=samples, seed=0, report=False)
    except PocketMLError as exc:
        return (f"| {entry.name} | {where} | **no**: {exc.problem[:160]} |" + " |" * 10,
                {"compiled": False, "blockers": collections.Counter({"(later step)": 1})})
    doc = json.loads((tmp / path.stem / "result.json").read_text())
    src = doc["verify"]["source_tflm"]
    cm = doc.get("cortexm") or {}
    qemu = f"{cm['qemu_mismatches']}/{cm['qemu_samples']}" if cm.get("qemu_samples") else "not run"
    imp = read_tflite(path)
    probe = smallest_tflm_arena(path, source_inputs(imp, probe_inputs(imp, 1, seed=0)))
    arena = doc["arena_bytes"]
    io = imp.graph.input_bytes + imp.graph.output_bytes  # caller buffers in our C, tensors in TFLM's arena
    io += imp.graph.state_bytes()  # memory kept between invokes (SVDF): static in our C, TFLM's variable tensors
    exact = bool(doc["verify"].get("exact")) and doc["c_mismatches"] == 0
    row = (f"| {entry.name} | {where} | yes ({len(doc['layers'])} ops) | {src['samples']} "
           f"| {src.get('distinct_outputs', '?')} | {doc['c_mismatches']} | {src['mismatching_samples']} | {qemu} "
           f"| {arena:,} | {arena + io:,} | {probe.smallest_bytes:,} | {(arena + io) / probe.smallest_bytes:.2f} "
           f"| {time.perf_counter() - t0:.0f} |")
    return row, {"compiled": True, "exact": exact, "blockers": collections.Counter(),
                 "weak": bool(src.get("weak_evidence"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True,
                        help="folder of git repositories (<owner>+<name>/repo or <owner>/<name>); "
                             "missing ones are cloned")
    parser.add_argument("--device", default="nano33ble")
    parser.add_argument("--samples", type=int, default=200, help="inputs compared per model (default 200)")
    parser.add_argument("--only", action="append", default=[], help="run only models whose name contains this")
    parser.add_argument("--extract-only", type=Path, default=None, metavar="FOLDER",
                        help="write the listed files to FOLDER and stop")
    args = parser.parse_args()
    entries = [e for e in load_manifest() if not args.only or any(s in e.name for s in args.only)]
    if args.extract_only:
        for p in extract(entries, args.mirrors, args.extract_only):
            print(p)
        return
    sources = sorted({e.repo for e in entries})
    print(f"### pocketml compile on {len(entries)} third-party int8 .tflite files from {len(sources)} public "
          f"repositories ({', '.join(sources)}); device {args.device}, {args.samples} probe inputs, seed 0\n")
    print("| model | repository, commit, path | compiled | samples | distinct outputs | C vs ref mismatches "
          "| TFLM (original file) vs ref mismatches | QEMU M4 mismatches | planned arena B | arena + I/O B "
          "| TFLM smallest arena B (original file) | ratio (arena + I/O) / TFLM | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="pocketml-bench-third-party-") as tmp:
        paths = extract(entries, args.mirrors, Path(tmp) / "models")
        for entry, path in zip(entries, paths, strict=True):
            row, figures = bench_one(entry, path, args.device, args.samples, Path(tmp))
            print(row, flush=True)
            results.append(figures)
    compiled = sum(r["compiled"] for r in results)
    exact = sum(r.get("exact", False) for r in results)
    weak = sum(r.get("weak", False) for r in results)
    total = collections.Counter()
    for r in results:
        total.update({op: 1 for op in r["blockers"]})  # models blocked by each op kind
    print(f"\ncompiled {compiled} of {len(results)} ({100 * compiled / len(results):.0f}%); byte-exact (C, reference, "
          f"TFLite Micro on the original file, QEMU): {exact} of {compiled}; weak evidence (few distinct "
          f"outputs) on {weak}")
    if total:
        print("refused: models blocked by each operator kind: "
              + ", ".join(f"{op} {n}" for op, n in total.most_common()))


if __name__ == "__main__":
    main()
