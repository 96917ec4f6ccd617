"""MINIMUM of two int8 operands with broadcasting: the smaller raw value, no arithmetic.

The rules (shared quantization, broadcasting, a constant operand) are MAXIMUM's too:
``pocketml/ops/broadcast.py``, ``SelectOperand``. The C twin is ``minimum.c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.ops.broadcast import SelectOperand


@dataclass(frozen=True)
class Minimum(SelectOperand):
    kind: ClassVar[str] = "minimum"
    builtin: ClassVar[str] = "MINIMUM"
    pick: ClassVar = staticmethod(np.minimum)
