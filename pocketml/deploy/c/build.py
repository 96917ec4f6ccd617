"""Build the emitted C on the host and run it through its stdin/stdout harness."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pocketml.deploy.c.emit import emit_c
from pocketml.deploy.c.weights import decoder_files
from pocketml.deploy.process import child_failure
from pocketml.devices.footprint import footprint
from pocketml.errors import PocketMLError
from pocketml.graph.planner import plan_memory


def build_host(c_dir: Path, cflags: str | None = None, cc: str | None = None) -> Path:
    """``make -C c_dir`` with the host compiler; returns the ``run_model`` binary."""
    if shutil.which("make") is None or shutil.which(cc or "cc") is None:
        raise PocketMLError("no C compiler or make on this machine",
                            "install gcc and make (`make demo` / `make test` install them on Debian)")
    cmd = ["make", "-s", "-B", "-C", str(c_dir)]
    if cflags is not None:
        cmd.append(f"CFLAGS={cflags}")
    if cc is not None:
        cmd.append(f"CC={cc}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PocketMLError(f"the generated C did not compile:\n{proc.stdout}{proc.stderr}",
                            "this is a pocketml bug: please report it with the model that caused it")
    return Path(c_dir) / "run_model"


def run_host(binary: Path, inputs: np.ndarray, output_bytes: int, env: dict | None = None) -> np.ndarray:
    """Feed a batch of int8 inputs through the binary in one process; return [N, output_bytes]."""
    x = np.asarray(inputs)
    data = np.ascontiguousarray(x if x.dtype == np.int16 else x.astype(np.int8)).tobytes()  # int16: an int16 edge
    proc = subprocess.run([str(binary)], input=data, capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        raise PocketMLError(f"{child_failure(str(binary), proc.returncode, stderr)}",
                            "this is a pocketml bug: please report it with the model that caused it")
    out = np.frombuffer(proc.stdout, dtype=np.int8)
    if out.size != len(inputs) * output_bytes:
        raise PocketMLError(f"{binary} wrote {out.size} bytes for {len(inputs)} inputs",
                            "this is a pocketml bug: please report it")
    return out.reshape(len(inputs), output_bytes)


def measure_sections(c_dir: Path, sources: list[str], cc: str = "cc") -> dict[str, int]:
    """Compile the model's sources (not the harness) with -Os and sum their ELF sections.

    Returns ``text``, ``rodata``, ``data``, ``bss`` in bytes, as ``size -A`` reports them for
    the host objects, built without position independence as firmware is (so constant tables
    holding pointers stay in .rodata). Constant data sizes are exact; code size is the host ISA's, an estimate of
    a microcontroller build.
    """
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    obj_dir = Path(c_dir) / ".measure"
    obj_dir.mkdir(exist_ok=True)
    try:
        for src in sources:
            obj = obj_dir / (Path(src).stem + ".o")
            proc = subprocess.run([cc, "-std=c99", "-Os", "-fno-pic", "-fno-pie", "-c", "-o", str(obj),
                                   str(Path(c_dir) / src)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise PocketMLError(f"measuring {src} failed: {proc.stderr[:1000]}", "this is a pocketml bug")
            sizes = subprocess.run(["size", "-A", str(obj)], capture_output=True, text=True, check=True)
            for line in sizes.stdout.splitlines():
                parts = line.split()
                if len(parts) < 2 or not parts[1].isdigit():
                    continue
                section, nbytes = parts[0], int(parts[1])
                for key in totals:
                    if section == f".{key}" or section.startswith(f".{key}."):
                        totals[key] += nbytes
    finally:
        shutil.rmtree(obj_dir, ignore_errors=True)
    return totals


def decoder_code_bytes(c_dir: Path, weights: dict) -> int:
    """Compiled size (.text + .rodata + .data, host gcc -Os) of the weight decoders the model uses."""
    files = decoder_files(weights)
    if not files:
        return 0
    return footprint(measure_sections(Path(c_dir), files), "host").flash_bytes


def measure_flash(qgraph, weights: dict, name: str = "candidate") -> int:
    """Emit and compile ``qgraph`` with ``weights``; its flash (.text + .rodata + .data, host -Os)."""
    source = emit_c(qgraph, plan_memory(qgraph), name, weights=weights)
    with tempfile.TemporaryDirectory(prefix="pocketml-size-") as tmp:
        for fname, text in source.files.items():
            (Path(tmp) / fname).write_text(text)
        s = measure_sections(Path(tmp), [f for f in source.files if f.endswith(".c") and f != "main.c"])
    return footprint(s, "host").flash_bytes


def model_sources(c_dir: Path) -> list[str]:
    """The inference model's C sources in ``c_dir`` (the Makefile's SRCS, without the harness main.c).

    OUT/c may also hold the on-device training step (train.c, pocketml_train.c), which the inference
    model's footprint must not count; folders without the Makefile fall back to every .c but main.c.
    """
    makefile = Path(c_dir) / "Makefile"
    if makefile.is_file():
        for line in makefile.read_text().splitlines():
            if line.startswith("SRCS = "):
                return [f for f in line.split()[2:] if f != "main.c"]
    return sorted(f.name for f in Path(c_dir).glob("*.c") if f.name != "main.c")

