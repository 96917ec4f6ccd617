"""The ``.tflite`` back end: the writer (no TensorFlow) and the runtimes that check it.

``write_tflite(graph)`` → bytes; ``runtimes`` runs them in TFLite Micro and LiteRT and finds
TFLite Micro's smallest working arena.
"""

from pocketml.deploy.tflite.writer import write_tflite

__all__ = ["write_tflite"]
