"""Emit encoded layer weights (packed int4/int2, sparse, Huffman) and the calls that decode them.

Used by ``emit.py`` for every layer that has an :class:`~pocketml.compress.encoding.EncodedWeights`:
the stored arrays become ``static const`` arrays (flash), and right before the layer's kernel a
decoder call (``pocketml_weights.h``) expands them into one shared static scratch buffer that the
layer's ordinary int8 kernel reads. The scratch is as large as the largest decoded layer; it is
RAM, and it is measured with the rest of ``.bss``.
"""

from __future__ import annotations

from collections.abc import Callable

from pocketml.compress.encoding import EncodedWeights

WEIGHTS_HEADER = "pocketml_weights.h"


def scratch_bytes(weights: dict[str, EncodedWeights]) -> int:
    """Size of the decode buffer: the largest layer that is decoded (0 if none)."""
    return max((enc.count for enc in weights.values()), default=0)


def decoder_files(weights: dict[str, EncodedWeights]) -> list[str]:
    """The runtime decoder sources these encodings need, sorted."""
    return sorted({enc.decoder for enc in weights.values()})


def emit_encoded(enc: EncodedWeights, ident: str, scratch: str, array: Callable[[str, str, object], str]) -> str:
    """Declare ``enc``'s arrays through ``array(ctype, ident, values)``; return the decode call."""
    if enc.format == "dense":
        values = array("uint8_t", f"{ident}_weights_packed", enc.arrays["values"])
        return f"  pocketml_unpack_weights({values}, {enc.bits}, {enc.count}, {scratch});"
    if enc.format == "sparse":
        mask = array("uint8_t", f"{ident}_weights_mask", enc.arrays["mask"])
        values = array("uint8_t", f"{ident}_weights_nonzero", enc.arrays["values"])
        return f"  pocketml_sparse_weights({mask}, {values}, {enc.bits}, {enc.count}, {scratch});"
    stream = array("uint8_t", f"{ident}_weights_huffman", enc.arrays["stream"])
    counts = array("uint16_t", f"{ident}_weights_code_counts", enc.arrays["counts"])
    symbols = array("int8_t", f"{ident}_weights_symbols", enc.arrays["symbols"])
    return f"  pocketml_huffman_weights({stream}, {counts}, {symbols}, {enc.max_len}, {enc.count}, {scratch});"
