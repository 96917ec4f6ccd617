"""Host latency of the emitted C: a timing harness around ``<prefix>_invoke``, built beside a copy.

How it is measured: the harness reads every test input into memory, runs one warm-up pass, then
``passes`` passes over all inputs, timing each pass with ``clock_gettime(CLOCK_MONOTONIC)``; the
figure is the median pass time divided by the number of inputs (seconds per inference). Built
with the artifact's own flags (``-O2``, as the generated Makefile). OUT/c is not modified: the
harness is compiled in a temporary copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
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
        data = np.ascontiguousarray(inputs, dtype=np.int8).tobytes()
        run = subprocess.run([str(binary), str(len(inputs)), str(passes)], input=data, capture_output=True)
        if run.returncode != 0:
            raise PocketMLError(f"the latency harness failed (status {run.returncode})",
                                "check OUT/c with `make -C OUT/c`")
        times = [float(v) for v in run.stdout.split()]
    return float(np.median(times))
