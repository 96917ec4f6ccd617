"""The one exception type users see: a problem, named, with what to do about it."""

from __future__ import annotations


class PocketMLError(Exception):
    """A user-facing error: ``problem`` says what is wrong, ``fix`` says what to do.

    The CLI prints both and exits non-zero; the Python API raises it as is.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)
