"""Compression stages: each takes a model (float or quantized) and returns a smaller one."""
