"""MAXIMUM of two int8 operands with broadcasting: the larger raw value, no arithmetic.

The rules (shared quantization, broadcasting, a constant operand) are MINIMUM's too:
``pocketml/ops/broadcast.py``, ``SelectOperand``. The C twin is ``maximum.c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.ops.broadcast import SelectOperand


@dataclass(frozen=True)
class Maximum(SelectOperand):
    kind: ClassVar[str] = "maximum"
    builtin: ClassVar[str] = "MAXIMUM"
    pick: ClassVar = staticmethod(np.maximum)
