"""Run the emitted training step: a command stream in, the C's answers out (host, and QEMU's protocol).

The harness (``run_train``, built from the generated ``train.c`` and a small ``main``) reads
commands from stdin, each one byte then its payload, and answers on stdout:

    'I' + K float32             weights_import (K = <M>_TRAINABLE_FLOATS)
    'T' + lr float32 + label int32 + input int8[INPUT_BYTES]    train_step
    'P' + input int8[INPUT_BYTES]                               predict → C float32 logits
    'E'                         weights_export → K float32

The same stream drives the Cortex-M firmware in QEMU (``deploy/cortexm/train.py``), so a
federated client or a personalisation run computes exactly what the microcontroller computes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketml.deploy.c.emit import CFLAGS
from pocketml.errors import PocketMLError
from pocketml.graph.training import TrainPlan

EXIT_CODES = {2: "an unknown command byte", 3: "a command cut short", 4: "the model refused a command (bad label, "
              "non-finite lr or NULL pointer)", 5: "a read error"}


def harness_c(prefix: str) -> str:
    """The host harness's main() for model prefix ``prefix`` (not shipped in OUT/c: a verification tool)."""
    P = prefix.upper()
    return f"""/* pocketml training harness: commands on stdin, answers on stdout (pocketml/deploy/c/train_host.py). */
#include <stdio.h>

#include "train.h"

int main(void) {{
  static int8_t input[{P}_TRAIN_INPUT_BYTES];
  static float values[{P}_TRAINABLE_FLOATS];
  static float logits[{P}_CLASSES];
  int op;
  while ((op = getchar()) != EOF) {{
    if (op == 'I') {{
      if (fread(values, sizeof(float), {P}_TRAINABLE_FLOATS, stdin) != {P}_TRAINABLE_FLOATS) {{
        return 3;
      }}
      if ({prefix}_weights_import(values) != 0) {{
        return 4;
      }}
    }} else if (op == 'T') {{
      float lr;
      int32_t label;
      if (fread(&lr, sizeof lr, 1, stdin) != 1 || fread(&label, sizeof label, 1, stdin) != 1 ||
          fread(input, 1, sizeof input, stdin) != sizeof input) {{
        return 3;
      }}
      if ({prefix}_train_step(input, (int)label, lr) != 0) {{
        return 4;
      }}
    }} else if (op == 'P') {{
      if (fread(input, 1, sizeof input, stdin) != sizeof input) {{
        return 3;
      }}
      if ({prefix}_predict(input, logits) < 0) {{
        return 4;
      }}
      fwrite(logits, sizeof(float), {P}_CLASSES, stdout);
    }} else if (op == 'E') {{
      if ({prefix}_weights_export(values) != 0) {{
        return 4;
      }}
      fwrite(values, sizeof(float), {P}_TRAINABLE_FLOATS, stdout);
    }} else {{
      return 2;
    }}
  }}
  return ferror(stdin) ? 5 : 0;
}}
"""


@dataclass
class Commands:
    """A command stream for the training harness, and the reply bytes it will produce."""

    plan: TrainPlan
    parts: list[bytes] = field(default_factory=list)
    replies: list[tuple[str, int]] = field(default_factory=list)  # (kind, floats)

    def load(self, flat: np.ndarray) -> Commands:
        flat = np.asarray(flat, np.float32).ravel()
        if flat.size != self.plan.trainable_floats:
            raise PocketMLError(f"{flat.size} values for a trainable part of {self.plan.trainable_floats}",
                                "pass TrainPlan.to_flat(state)")
        self.parts.append(b"I" + flat.astype("<f4").tobytes())
        return self

    def step(self, x: np.ndarray, label: int, lr: float) -> Commands:
        self.parts.append(b"T" + np.float32(lr).astype("<f4").tobytes() + np.int32(label).astype("<i4").tobytes()
                          + self._input(x))
        return self

    def predict(self, x: np.ndarray) -> Commands:
        self.parts.append(b"P" + self._input(x))
        self.replies.append(("logits", self.plan.head.classes))
        return self

    def export(self) -> Commands:
        self.parts.append(b"E")
        self.replies.append(("weights", self.plan.trainable_floats))
        return self

    def _input(self, x: np.ndarray) -> bytes:
        x = np.asarray(x)
        if x.dtype != np.int8 or x.size != self.plan.graph.input_info.nbytes:
            raise PocketMLError(f"a training input must be int8 with {self.plan.graph.input_info.nbytes} values, "
                                f"got {x.dtype} {x.shape}", "quantize it first: graph.quantize_input(x)")
        return np.ascontiguousarray(x).tobytes()

    def payload(self) -> bytes:
        return b"".join(self.parts)

    def split(self, answer: bytes) -> list[np.ndarray]:
        """The harness's answer cut into one float32 array per reply (predict: logits; export: weights)."""
        values = np.frombuffer(answer, "<f4")
        want = sum(n for _, n in self.replies)
        if values.size != want:
            raise PocketMLError(f"the training harness answered {values.size} values, expected {want}",
                                "this is a pocketml bug: please report it")
        out, start = [], 0
        for _, n in self.replies:
            out.append(values[start:start + n].astype(np.float32))
            start += n
        return out


def build_train_host(c_dir: str | Path, prefix: str, sources: tuple[str, ...], work: str | Path | None = None,
                     cflags: str | None = None, cc: str = "cc") -> Path:
    """Compile the training step in ``c_dir`` with the harness into ``work``/run_train."""
    c_dir = Path(c_dir)
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="pocketml-train-"))
    work.mkdir(parents=True, exist_ok=True)
    main = work / "train_main.c"
    main.write_text(harness_c(prefix))
    binary = work / "run_train"
    cmd = [cc, *(cflags or CFLAGS).split(), f"-I{c_dir}", "-o", str(binary), str(main),
           *(str(c_dir / s) for s in sources)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PocketMLError(f"the training step's C did not compile:\n{proc.stdout}{proc.stderr}"[:3000],
                            "this is a pocketml bug: please report it with the model that caused it")
    return binary


def run_train_host(binary: str | Path, commands: Commands, env: dict | None = None) -> list[np.ndarray]:
    """Run ``commands`` through the harness in one process; returns the replies (see ``Commands.split``)."""
    proc = subprocess.run([str(binary)], input=commands.payload(), capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        why = EXIT_CODES.get(proc.returncode, f"status {proc.returncode}")
        raise PocketMLError(f"the training harness stopped ({why}): {proc.stderr.decode(errors='replace')[:2000]}",
                            "this is a pocketml bug if the commands were well formed: please report it")
    return commands.split(proc.stdout)


@dataclass(frozen=True)
class HostTrainer:
    """The emitted training step, compiled for the host: train and predict as the microcontroller would."""

    plan: TrainPlan
    binary: Path

    def train(self, flat: np.ndarray, x: np.ndarray, labels: np.ndarray, lr: float, epochs: int = 1,
              seed: int = 0) -> np.ndarray:
        """``epochs`` passes of batch-1 SGD over ``(x, labels)`` (a seeded order each epoch); the new values."""
        rng = np.random.default_rng(seed)
        cmd = Commands(self.plan).load(flat)
        for _ in range(epochs):
            for i in rng.permutation(len(x)):
                cmd.step(x[i], int(labels[i]), lr)
        return run_train_host(self.binary, cmd.export())[0]

    def predict(self, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
        """float32 logits [N, classes] of the part ``flat`` on int8 inputs ``x``."""
        cmd = Commands(self.plan).load(flat)
        for xi in x:
            cmd.predict(xi)
        return np.stack(run_train_host(self.binary, cmd)) if len(x) else np.zeros((0, self.plan.head.classes))
