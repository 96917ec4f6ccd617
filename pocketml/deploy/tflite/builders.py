"""The ``tflite`` package's generated builder modules, by table name.

``tflite/__init__.py`` re-exports each table's *class* under the module's name, hiding the
module-level builder functions (``Conv2DOptionsStart`` ...); this imports the modules themselves.
"""

from importlib import import_module

AddOptions = import_module("tflite.AddOptions")
Buffer = import_module("tflite.Buffer")
ConcatenationOptions = import_module("tflite.ConcatenationOptions")
Conv2DOptions = import_module("tflite.Conv2DOptions")
DepthwiseConv2DOptions = import_module("tflite.DepthwiseConv2DOptions")
FullyConnectedOptions = import_module("tflite.FullyConnectedOptions")
Model = import_module("tflite.Model")
Operator = import_module("tflite.Operator")
OperatorCode = import_module("tflite.OperatorCode")
PadOptions = import_module("tflite.PadOptions")
Pool2DOptions = import_module("tflite.Pool2DOptions")
QuantizationParameters = import_module("tflite.QuantizationParameters")
ReducerOptions = import_module("tflite.ReducerOptions")
ReshapeOptions = import_module("tflite.ReshapeOptions")
SoftmaxOptions = import_module("tflite.SoftmaxOptions")
SubGraph = import_module("tflite.SubGraph")
Tensor = import_module("tflite.Tensor")
