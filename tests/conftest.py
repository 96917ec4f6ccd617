"""Shared fixtures: digits-cnn is trained once per test session (a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketml.compress.quantize import quantize
from pocketml.graph.capture import capture
from pocketml.models import get_builtin


@pytest.fixture(scope="session")
def digits_trained():
    """(model, dataset) for digits-cnn, seed 0."""
    return get_builtin("digits-cnn").trained(seed=0, progress=False)


@pytest.fixture(scope="session")
def digits_qgraph(digits_trained):
    model, data = digits_trained
    return quantize(capture(model, torch.as_tensor(data.train.x[:1]), "digits_cnn"), data.train.x)


@pytest.fixture(scope="session")
def nano_result(digits_trained, tmp_path_factory):
    """shrink(digits-cnn) for the Nano 33 BLE Sense, written to a temporary folder."""
    from pocketml import shrink
    from pocketml.models.server import fit_server_model

    model, data = digits_trained
    out = tmp_path_factory.mktemp("shrink") / "nano"
    return shrink(model, data.train.x, data.test, "nano33ble", out, name="digits-cnn",
                  server_model=fit_server_model(data.train)), out


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


class MainRun:
    """What ``pocketml.cli.main()`` did: its exit code and what it printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli_main(capsys, monkeypatch):
    """Run the real entry point (``pocketml.cli.main``: typer, then the error printer) in-process.

    Returns a function ``(*args) -> MainRun``; every run is checked to print no traceback.
    """
    import logging
    import signal
    import sys

    from pocketml.cli import main

    previous = signal.getsignal(signal.SIGTERM)
    # Flower's log handler keeps the stderr of the test that imported it (closed by pytest since):
    # without this, logging prints its own "--- Logging error ---" traceback about that stream
    monkeypatch.setattr(logging, "raiseExceptions", False)

    def run(*args) -> MainRun:
        monkeypatch.setattr(sys, "argv", ["pocketml", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            signal.signal(signal.SIGTERM, previous)
        out, err = capsys.readouterr()
        result = MainRun(code, out, err)
        assert "Traceback" not in result.text and 'File "' not in result.text, result.text[-2000:]
        return result

    return run
