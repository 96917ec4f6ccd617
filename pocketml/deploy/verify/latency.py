"""Host latency of the emitted C, alone (``time_c``) or side by side with TFLite Micro.

``time_c``: a harness reads every test input into memory, runs one warm-up pass, then ``passes``
passes over all inputs, timing each pass with ``clock_gettime(CLOCK_MONOTONIC)``; the figure is
the median pass time divided by the number of inputs (seconds per inference).

``time_side_by_side``: the C/TFLite Micro ratio. Timing the two in separate processes, one after
the other, lets a burst of load on a shared machine land on one side only; so the model's C is
built as a shared library and both run in one child process (``side_by_side.py``), interleaved
round by round on the same inputs after a warm-up pass of each. The C is timed inside C around
``<prefix>_invoke`` (no process start, no I/O, no binding call per inference); TFLite Micro with
``perf_counter_ns`` around ``invoke()``. The child also returns both outputs; ``same_outputs``
says whether they are equal byte for byte (the timed code is the verified code).

The C is built with the artifact's own flags (``-O2``, as the generated Makefile; TFLite Micro's
wheel is an optimised build too: its kernels are scalar reference C++). OUT/c is not modified:
everything is compiled in a temporary copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.deploy.c.emit import CFLAGS
from pocketml.errors import PocketMLError

HARNESS = r"""/* pocketml latency harness: times PREFIX_invoke over N inputs read from stdin. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "model.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0, passes = argc > 2 ? atol(argv[2]) : 5;
  int8_t *in = malloc((size_t)n * PREFIX_INPUT_BYTES);
  static int8_t out[PREFIX_OUTPUT_BYTES];
  volatile int sink = 0;
  if (in == NULL || fread(in, PREFIX_INPUT_BYTES, (size_t)n, stdin) != (size_t)n) return 2;
  for (long i = 0; i < n; i++) sink += prefix_invoke(in + i * PREFIX_INPUT_BYTES, out);
  for (long p = 0; p < passes; p++) {
    double t0 = now();
    for (long i = 0; i < n; i++) sink += prefix_invoke(in + i * PREFIX_INPUT_BYTES, out);
    printf("%.9f\n", (now() - t0) / (double)n);
  }
  free(in);
  return sink;
}
"""


def model_prefix(c_dir: Path) -> str:
    """The symbol prefix of an emitted model (from ``model.h``'s ``<prefix>_invoke``)."""
    match = re.search(r"int (\w+)_invoke\(", (Path(c_dir) / "model.h").read_text())
    if match is None:
        raise PocketMLError(f"{c_dir}/model.h declares no <prefix>_invoke", "rerun `pocketml shrink`")
    return match.group(1)


def time_c(c_dir: str | Path, inputs: np.ndarray, passes: int = 5, cflags: str = CFLAGS) -> float:
    """Seconds per inference of the emitted C in ``c_dir`` (see the module docstring)."""
    c_dir = Path(c_dir)
    prefix = model_prefix(c_dir)
    with tempfile.TemporaryDirectory(prefix="pocketml-latency-") as tmp:
        work = Path(tmp)
        sources = []
        for f in c_dir.iterdir():
            if f.suffix in (".c", ".h") and f.name != "main.c":
                shutil.copy(f, work / f.name)
                if f.suffix == ".c":
                    sources.append(f.name)
        text = HARNESS.replace("PREFIX_", f"{prefix.upper()}_").replace("prefix_", f"{prefix}_")
        (work / "time_main.c").write_text(text)
        binary = work / "time_model"
        proc = subprocess.run(["cc", *cflags.split(), "-o", str(binary), "time_main.c", *sources],
                              cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PocketMLError(f"the latency harness did not compile: {proc.stderr[:1000]}",
                                "check OUT/c builds with `make -C OUT/c`")
        x = np.asarray(inputs)
        data = np.ascontiguousarray(x if x.dtype == np.int16 else x.astype(np.int8)).tobytes()  # int16: an edge
        run = subprocess.run([str(binary), str(len(inputs)), str(passes)], input=data, capture_output=True)
        if run.returncode != 0:
            raise PocketMLError(f"the latency harness failed (status {run.returncode})",
                                "check OUT/c with `make -C OUT/c`")
        times = [float(v) for v in run.stdout.split()]
    return float(np.median(times))


LIBRARY_HARNESS = r"""/* pocketml latency harness (shared library): times PREFIX_invoke over n inputs. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include "model.h"

long pocketml_output_bytes(void);
double pocketml_time_pass(const int8_t *inputs, long n, int8_t *outputs);

long pocketml_output_bytes(void) {
  return PREFIX_OUTPUT_BYTES;
}

/* Seconds per inference over one pass; outputs[i] receives the output of inputs[i]. */
double pocketml_time_pass(const int8_t *inputs, long n, int8_t *outputs) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    prefix_invoke((const void *)(inputs + i * PREFIX_INPUT_BYTES), (void *)(outputs + i * PREFIX_OUTPUT_BYTES));
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return ((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
}
"""

SIDE_BY_SIDE = Path(__file__).with_name("side_by_side.py")


@dataclass(frozen=True)
class SideBySide:
    """Seconds per inference of the C and of TFLite Micro, one value per interleaved round."""

    c_seconds: tuple[float, ...]
    tflm_seconds: tuple[float, ...]
    samples: int
    cflags: str
    same_outputs: bool  # the timed C and TFLM runs computed the same bytes (verify reports mismatches)

    @property
    def c_median(self) -> float:
        return float(np.median(self.c_seconds))

    @property
    def tflm_median(self) -> float:
        return float(np.median(self.tflm_seconds))

    @property
    def ratio(self) -> float:
        """C over TFLite Micro: the median of the per-round ratios (each round saw one load)."""
        return float(np.median(np.array(self.c_seconds) / np.array(self.tflm_seconds)))


def build_c_library(c_dir: Path, work: Path, cflags: str = CFLAGS) -> Path:
    """Compile OUT/c's model (not its main.c) and the timing harness into ``work/libmodel.so``."""
    prefix = model_prefix(c_dir)
    sources = []
    for f in Path(c_dir).iterdir():
        if f.suffix in (".c", ".h") and f.name != "main.c":
            shutil.copy(f, work / f.name)
            if f.suffix == ".c":
                sources.append(f.name)
    text = LIBRARY_HARNESS.replace("PREFIX_", f"{prefix.upper()}_").replace("prefix_", f"{prefix}_")
    (work / "time_library.c").write_text(text)
    library = work / "libmodel.so"
    proc = subprocess.run(["cc", *cflags.split(), "-fPIC", "-shared", "-o", str(library), "time_library.c", *sources],
                          cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PocketMLError(f"the latency harness did not compile: {proc.stderr[:1000]}",
                            "check OUT/c builds with `make -C OUT/c`")
    return library


def time_side_by_side(c_dir: str | Path, tflite: str | Path, inputs: np.ndarray, rounds: int = 5,
                      cflags: str = CFLAGS, arena_bytes: int = 4 << 20, timeout: float = 1800,
                      n_outputs: int = 1, reset_state: bool = False) -> SideBySide:
    """The C in ``c_dir`` and ``tflite`` in TFLite Micro, interleaved (see the module docstring).

    ``n_outputs``: the model's outputs; TFLite Micro's are packed in order to compare with the C's.
    ``reset_state``: TFLite Micro's variable tensors are reset before every sample (a model whose
    state resets per inference; its C does that itself)."""
    with tempfile.TemporaryDirectory(prefix="pocketml-side-by-side-") as tmp:
        work = Path(tmp)
        library = build_c_library(Path(c_dir), work, cflags)
        x_path, out_path = work / "x.npy", work / "times.npz"
        given = np.asarray(inputs)  # uint8 or int16 for a model whose input a QUANTIZE converts
        np.save(x_path, np.ascontiguousarray(given, dtype=given.dtype if given.dtype in (np.uint8, np.int16)
                                             else np.int8))
        proc = subprocess.run([sys.executable, str(SIDE_BY_SIDE), str(library), str(tflite), str(x_path),
                               str(out_path), str(arena_bytes), str(max(1, rounds)), str(n_outputs),
                               str(int(reset_state))],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not out_path.exists():
            from pocketml.deploy.process import child_failure
            from pocketml.deploy.tflite.runtimes import TFLITE_FIX

            why = child_failure("timing the C beside TFLite Micro", proc.returncode, proc.stderr)
            fix = (TFLITE_FIX if proc.returncode < 0 else  # a crash: TFLite Micro on a damaged model, most likely
                   "the .tflite may be damaged (regenerate it with `pocketml shrink`), or OUT/c may not build "
                   "(check `make -C OUT/c`)")
            raise PocketMLError(f"{why} ({tflite})", fix)
        with np.load(out_path) as z:
            c_seconds, tflm_seconds = tuple(map(float, z["c"])), tuple(map(float, z["tflm"]))
            same = np.array_equal(z["c_out"].reshape(len(inputs), -1), z["tflm_out"].reshape(len(inputs), -1))
    return SideBySide(c_seconds, tflm_seconds, len(inputs), cflags, bool(same))
