"""Data movement by strides: what TRANSPOSE, STRIDED_SLICE (and SLICE) and TILE share.

Each output element, in order, copies one input element. The output's shape is padded on the left
to 4 axes (``dims``); the input element of output position (i0, i1, i2, i3) is at

    offset + Σ i_a · strides[a]                 (TRANSPOSE: permuted strides; a slice: begin and step)
    Σ (i_a mod in_dims[a]) · in_strides[a]      (TILE)

The numpy references use numpy's own transpose, fancy indexing and tile instead, so the stride
arithmetic of the C is checked against an independent computation.
"""

from __future__ import annotations

MAX_RANK = 4


def padded(shape: tuple[int, ...], fill: int = 1) -> tuple[int, ...]:
    """``shape`` padded on the left to 4 axes."""
    if len(shape) > MAX_RANK:
        raise ValueError(f"{len(shape)} axes per sample (at most {MAX_RANK})")
    return (fill,) * (MAX_RANK - len(shape)) + tuple(int(d) for d in shape)


def row_major_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-ordered tensor of ``shape``."""
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= int(d)
    return tuple(reversed(strides))


def c_array(values) -> str:
    """A C array initialiser ``{a, b, c, d}``."""
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def gather_fields(dims, strides, offset: int = 0) -> tuple[tuple[str, object], ...]:
    return (("dims", c_array(dims)), ("strides", c_array(strides)), ("offset", int(offset)))


