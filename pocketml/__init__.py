"""pocketml: tiny AI — shrink PyTorch models into verified int8 C for microcontrollers."""

__version__ = "0.1.0"

from pocketml.devices import Device, find_device, load_catalogue  # noqa: E402
from pocketml.errors import PocketMLError  # noqa: E402
from pocketml.pipeline import shrink, shrink_builtin  # noqa: E402
from pocketml.result import Result  # noqa: E402

__all__ = ["Device", "PocketMLError", "Result", "find_device", "load_catalogue", "shrink", "shrink_builtin"]
