"""Weight storage formats the C emitter can decode, with their numpy reference codecs.

A conv or fully-connected layer's quantized weights are int8 values restricted to the layer's bit
width (``[-127, 127]`` for 8, ``[-7, 7]`` for 4, ``[-1, 1]`` for 2). They can be stored as

* ``dense``   : ``bits`` per weight, packed LSB first (two int4 or four int2 per byte; int8 as is);
* ``sparse``  : a bitmap (1 bit per weight, set = non-zero) and the non-zero values packed at ``bits``;
* ``huffman`` : a canonical Huffman code over the weight values (deep compression's last step):
  the bit stream (MSB first), ``count[len]`` codes per length and the symbols in canonical order.

Each format decodes back to exactly the int8 weights the integer reference multiplies by; the C
decoders in ``deploy/c/runtime/*_weights.c`` mirror :meth:`EncodedWeights.decode` line for line and
the tests require both to be byte-identical. :func:`encode_smallest` picks the smallest format,
counting every stored byte (values, bitmap, tables).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from pocketml.errors import PocketMLError

SUPPORTED_BITS = (8, 4, 2)
FORMATS = ("dense", "sparse", "huffman")
MAX_CODE_LENGTH = 24  # the C decoder keeps a code in an int32; longer codes fall back to another format


def check_bits(bits: int, where: str = "") -> int:
    """Refuse a weight bit width the C emitter has no decoder for."""
    if bits not in SUPPORTED_BITS:
        raise PocketMLError(f"{where}weight bit width {bits} cannot be run by the C emitter",
                            f"use one of {', '.join(map(str, SUPPORTED_BITS))} bits")
    return bits


def qmax(bits: int) -> int:
    """Largest magnitude of a symmetric narrow-range signed integer: 127, 7 or 1."""
    return 2 ** (check_bits(bits) - 1) - 1


@dataclass(frozen=True, eq=False)
class EncodedWeights:
    """One layer's weights as stored in flash: the format, its arrays and their exact byte count."""

    format: str  # dense | sparse | huffman
    bits: int
    count: int  # number of weights
    arrays: dict[str, np.ndarray]  # name -> stored array (uint8 stream, bitmap, uint16 counts, int8 symbols)
    max_len: int = 0  # huffman only

    @property
    def nbytes(self) -> int:
        """Every byte the C stores for these weights (tables included)."""
        return int(sum(a.nbytes for a in self.arrays.values()))

    @property
    def decoder(self) -> str:
        """The runtime file holding this format's decoder."""
        return {"dense": "unpack_weights.c", "sparse": "sparse_weights.c", "huffman": "huffman_weights.c"}[self.format]

    def decode(self) -> np.ndarray:
        """The numpy reference decoder: stored arrays → int8 weights (flat)."""
        if self.format == "dense":
            return unpack(self.arrays["values"], self.bits, self.count)
        if self.format == "sparse":
            mask = np.unpackbits(self.arrays["mask"], bitorder="little")[: self.count].astype(bool)
            out = np.zeros(self.count, np.int8)
            out[mask] = unpack(self.arrays["values"], self.bits, int(mask.sum()))
            return out
        return _huffman_decode(self.arrays["stream"], self.arrays["counts"], self.arrays["symbols"],
                               self.max_len, self.count)

    def decode_work(self) -> int:
        """Decode work per inference: bits read by the decoder (an operation count, not a time)."""
        if self.format == "dense":
            return self.count * self.bits if self.bits < 8 else 0
        if self.format == "sparse":
            return self.count + int(np.count_nonzero(self.decode())) * self.bits
        return int(self.arrays["stream"].size * 8)


def pack(values: np.ndarray, bits: int) -> np.ndarray:
    """Pack signed values of ``bits`` two's complement, LSB first, into uint8 (``bits`` = 8: as is)."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if bits == 8:
        return v.astype(np.int8).view(np.uint8)
    per = 8 // bits
    u = (v & ((1 << bits) - 1)).astype(np.uint8)
    u = np.concatenate([u, np.zeros((-len(u)) % per, np.uint8)]).reshape(-1, per)
    shifts = (np.arange(per) * bits).astype(np.uint8)
    return np.bitwise_or.reduce(u << shifts, axis=1).astype(np.uint8)


def unpack(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``count`` sign-extended int8 values."""
    packed = np.asarray(packed, dtype=np.uint8)
    if bits == 8:
        return packed[:count].view(np.int8).copy()
    per = 8 // bits
    shifts = (np.arange(per) * bits).astype(np.uint8)
    u = ((packed[:, None] >> shifts) & ((1 << bits) - 1)).astype(np.int16).ravel()[:count]
    return np.where(u >= 1 << (bits - 1), u - (1 << bits), u).astype(np.int8)


def encode(weights: np.ndarray, bits: int, fmt: str) -> EncodedWeights | None:
    """Encode int8 weights (within ``±qmax(bits)``) in one format; None if the format cannot hold them."""
    w = np.asarray(weights, dtype=np.int8).ravel()
    if np.any(np.abs(w.astype(np.int16)) > qmax(bits)):
        raise ValueError(f"weights exceed the {bits}-bit range ±{qmax(bits)}")
    if fmt == "dense":
        return EncodedWeights("dense", bits, w.size, {"values": pack(w, bits)})
    if fmt == "sparse":
        mask = np.packbits(w != 0, bitorder="little")
        return EncodedWeights("sparse", bits, w.size, {"mask": mask, "values": pack(w[w != 0], bits)})
    if fmt == "huffman":
        return _huffman_encode(w, bits)
    raise ValueError(f"unknown weight format {fmt!r}; formats: {FORMATS}")


def encode_smallest(weights: np.ndarray, bits: int, formats: tuple[str, ...] = ("dense", "sparse")) -> EncodedWeights:
    """The smallest of ``formats`` (ties go to the earlier, simpler one)."""
    best = None
    for fmt in formats:
        enc = encode(weights, bits, fmt)
        if enc is not None and (best is None or enc.nbytes < best.nbytes):
            best = enc
    assert best is not None, "dense always encodes"
    return best


# -- canonical Huffman ------------------------------------------------------------------------

def huffman_lengths(freq: dict[int, int]) -> dict[int, int]:
    """Code length per symbol from frequencies (classic Huffman tree; one symbol gets length 1)."""
    if len(freq) == 1:
        return {next(iter(freq)): 1}
    heap = [(f, i, (s,)) for i, (s, f) in enumerate(sorted(freq.items()))]
    heapq.heapify(heap)
    depth = dict.fromkeys(freq, 0)
    tie = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (f1 + f2, tie, a + b))
        tie += 1
    return depth


def _huffman_encode(w: np.ndarray, bits: int) -> EncodedWeights | None:
    values, freqs = np.unique(w, return_counts=True)
    lengths = huffman_lengths({int(v): int(f) for v, f in zip(values, freqs, strict=True)})
    max_len = max(lengths.values())
    if max_len > MAX_CODE_LENGTH:
        return None
    # canonical order: by (length, value); codes assigned consecutively, shorter codes first
    order = sorted(lengths, key=lambda s: (lengths[s], s))
    counts = np.zeros(max_len + 1, np.uint16)
    for s in order:
        counts[lengths[s]] += 1
    codes: dict[int, int] = {}
    code, prev_len = 0, lengths[order[0]]
    for s in order:
        code <<= lengths[s] - prev_len
        prev_len = lengths[s]
        codes[s] = code
        code += 1
    bitlist = np.concatenate([np.array([(codes[int(v)] >> (lengths[int(v)] - 1 - i)) & 1
                                        for i in range(lengths[int(v)])], np.uint8) for v in w]) \
        if w.size else np.zeros(0, np.uint8)
    stream = np.packbits(bitlist, bitorder="big")
    return EncodedWeights("huffman", bits, w.size,
                          {"stream": stream, "counts": counts, "symbols": np.array(order, np.int8)}, max_len)


def _huffman_decode(stream, counts, symbols, max_len, n) -> np.ndarray:
    """Canonical decoding, one bit at a time (the loop ``huffman_weights.c`` runs)."""
    bitlist = np.unpackbits(np.asarray(stream, np.uint8), bitorder="big")
    out = np.zeros(n, np.int8)
    pos = 0
    for k in range(n):
        code = first = index = 0
        for length in range(1, max_len + 1):
            code |= int(bitlist[pos])
            pos += 1
            c = int(counts[length])
            if code - first < c:
                out[k] = symbols[index + code - first]
                break
            index += c
            first = (first + c) << 1
            code <<= 1
        else:
            raise ValueError("corrupt Huffman stream")
    return out
