"""pocketml: tiny AI — shrink PyTorch models into verified int8 C for microcontrollers."""

__version__ = "0.1.0"

from pocketml.compiler import check_tflite_model, compile_tflite  # noqa: E402
from pocketml.devices import Device, find_device, load_catalogue  # noqa: E402
from pocketml.errors import PocketMLError  # noqa: E402
from pocketml.pipeline import shrink, shrink_builtin  # noqa: E402
from pocketml.result import Result  # noqa: E402

compile = compile_tflite  # noqa: A001 - pocketml.compile(model.tflite, device, out), as the CLI

__all__ = ["Device", "PocketMLError", "Result", "check_tflite_model", "compile", "compile_tflite", "find_device",
           "load_catalogue", "shrink", "shrink_builtin"]
