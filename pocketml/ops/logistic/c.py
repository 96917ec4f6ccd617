"""LOGISTIC's C parameters (``pocketml_logistic_params``): int8, its table; int16, the input scaling and
the shared sigmoid table (``pocketml/ops/sigmoid16.py``); both in flash."""

from pocketml.ops import sigmoid16, table


def c_params(op, data, ctx):
    if isinstance(data, sigmoid16.Sigmoid16Data):
        return sigmoid16.c_params(op, data, ctx)
    return table.c_params(op, data, ctx)


__all__ = ["c_params"]
