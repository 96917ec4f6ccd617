"""pocketml: tiny AI — shrink PyTorch models into verified int8 C for microcontrollers."""

from pocketml._version import __version__
from pocketml.compiler import check_tflite_model, compile_tflite
from pocketml.devices import Device, find_device, load_catalogue
from pocketml.errors import PocketMLError
from pocketml.pipeline import shrink, shrink_builtin
from pocketml.result import Result

compile = compile_tflite  # noqa: A001 - pocketml.compile(model.tflite, device, out), as the CLI

__all__ = ["__version__", "Device", "PocketMLError", "Result", "check_tflite_model", "compile", "compile_tflite", "find_device",
           "load_catalogue", "shrink", "shrink_builtin"]
