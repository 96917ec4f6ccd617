"""The op set: one op per file, each a frozen dataclass with ``prepare`` and ``evaluate``.

The C twins live in ``deploy/c/runtime/`` under the same names. A 1-D convolution (``nn.Conv1d``)
is a :class:`Conv2D` (or :class:`DepthwiseConv2D`) with a 1-high kernel on a [1, W, C] map, as in
TFLite, which has no 1-D convolution.
"""

from pocketml.graph.ops.add import Add
from pocketml.graph.ops.avg_pool2d import AvgPool2D
from pocketml.graph.ops.concatenation import Concatenation
from pocketml.graph.ops.conv2d import Conv2D
from pocketml.graph.ops.depthwise_conv2d import DepthwiseConv2D
from pocketml.graph.ops.fully_connected import FullyConnected
from pocketml.graph.ops.max_pool2d import MaxPool2D
from pocketml.graph.ops.mean import Mean
from pocketml.graph.ops.pad import Pad
from pocketml.graph.ops.relu import ReLU
from pocketml.graph.ops.relu6 import ReLU6
from pocketml.graph.ops.reshape import Reshape
from pocketml.graph.ops.softmax import Softmax

OPS = {op.kind: op for op in (Conv2D, DepthwiseConv2D, FullyConnected, MaxPool2D, AvgPool2D, Mean, Add,
                              Concatenation, Pad, ReLU, ReLU6, Softmax, Reshape)}

__all__ = ["OPS", "Add", "AvgPool2D", "Concatenation", "Conv2D", "DepthwiseConv2D", "FullyConnected",
           "MaxPool2D", "Mean", "Pad", "ReLU", "ReLU6", "Reshape", "Softmax"]
