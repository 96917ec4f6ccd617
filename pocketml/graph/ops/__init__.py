"""The op set: one op per file, each a frozen dataclass with ``prepare`` and ``evaluate``.

The C twins live in ``deploy/c/runtime/`` under the same names.
"""

from pocketml.graph.ops.conv2d import Conv2D
from pocketml.graph.ops.fully_connected import FullyConnected
from pocketml.graph.ops.max_pool2d import MaxPool2D
from pocketml.graph.ops.reshape import Reshape

OPS = {op.kind: op for op in (Conv2D, FullyConnected, MaxPool2D, Reshape)}

__all__ = ["OPS", "Conv2D", "FullyConnected", "MaxPool2D", "Reshape"]
