"""Deployment: emit the quantized graph as C (and later .tflite), build it, verify it."""
