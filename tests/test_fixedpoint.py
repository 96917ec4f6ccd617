"""The fixed-point primitives against worked examples and an exact-integer reference."""

from __future__ import annotations

import math
import subprocess
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pocketml.graph import fixedpoint as fp

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def exact_srdhm(a: int, b: int) -> int:
    """a*b / 2^31, nearest, ties toward +inf; saturating: with Python's exact integers."""
    if a == b == -(2**31):
        return 2**31 - 1
    return (a * b + 2**30) // 2**31  # floor(x + 1/2) == nearest, ties up


def exact_rdbpot(x: int, e: int) -> int:
    """x / 2^e, nearest, ties away from zero."""
    q, r = divmod(abs(x), 2**e)
    q += 2 * r >= 2**e if e else 0
    return q if x >= 0 else -q


# -- worked examples (values computed by hand) -------------------------------------------------
@pytest.mark.parametrize("a,b,want", [
    (2**30, 2**30, 2**29),            # 0.5 * 0.5 in Q0.31 = 0.25
    (1, 2**30, 1),                    # 2^30 / 2^31 = 0.5: tie -> up to 1
    (-1, 2**30, 0),                   # -0.5: tie -> toward +inf = 0
    (-3, 2**30, -1),                  # -1.5 -> -1
    (-(2**31), -(2**31), 2**31 - 1),  # the single saturating case
    (-(2**31), 2**31 - 1, -(2**31) + 1),
])
def test_srdhm_worked_examples(a, b, want):
    assert int(fp.saturating_rounding_doubling_high_mul(np.int32(a), np.int32(b))) == want


@pytest.mark.parametrize("x,e,want", [(5, 1, 3), (-5, 1, -3), (4, 1, 2), (7, 2, 2), (-6, 2, -2),
                                      (-2, 2, -1), (2, 2, 1), (1, 0, 1), (-(2**31), 31, -1)])
def test_rounding_divide_by_pot_worked_examples(x, e, want):
    assert int(fp.rounding_divide_by_pot(np.int32(x), e)) == want


@pytest.mark.parametrize("real,want", [
    (0.5, (2**30, 0, 0)), (0.25, (2**30, 0, 1)), (1.0, (2**30, 1, 0)), (0.0, (0, 0, 0)),
    (0.75, (3 * 2**29, 0, 0)), (2.0**-40, (0, 0, 0)),
])
def test_quantize_multiplier_worked_examples(real, want):
    assert fp.quantize_multiplier(real) == want


def test_quantize_multiplier_rounding_up_to_one_renormalises():
    mult, left, right = fp.quantize_multiplier(1.0 - 2.0**-40)  # rounds to 2^31 -> halved
    assert (mult, left, right) == (2**30, 1, 0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), 2.0**40])
def test_quantize_multiplier_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        fp.quantize_multiplier(bad)


# -- property tests against the exact reference ------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(INT32, INT32)
def test_srdhm_matches_exact(a, b):
    assert int(fp.saturating_rounding_doubling_high_mul(np.int32(a), np.int32(b))) == exact_srdhm(a, b)


@settings(max_examples=400, deadline=None)
@given(INT32, st.integers(0, 31))
def test_rdbpot_matches_exact(x, e):
    assert int(fp.rounding_divide_by_pot(np.int32(x), e)) == exact_rdbpot(x, e)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**24), 2**24), st.floats(1e-6, 0.999, allow_nan=False))
def test_multiply_by_quantized_multiplier_is_close_to_real_product(x, real):
    mult, left, right = fp.quantize_multiplier(real)
    got = int(fp.multiply_by_quantized_multiplier(np.int32(x), mult, left, right))
    want = exact_rdbpot(exact_srdhm(x << left, mult), right)
    assert got == want
    assert abs(got - x * real) <= 1.0 + abs(x) * 2.0**-30


def exact_mbqm64(x: int, multiplier: int, shift: int) -> int:
    """TFLite's int64 requantization with Python's exact integers: the multiplier rounded to Q0.15,
    then x · m / 2^(15 - shift) rounded to nearest, ties toward +inf (floor of x·m/2^t + 1/2)."""
    m = (multiplier + 2**15) // 2**16 if multiplier < 0x7FFF0000 else 0x7FFF
    t = 15 - shift
    return (x * m + 2 ** (t - 1)) // 2**t


@pytest.mark.parametrize("x,real,want", [
    (3, 0.5, 2),            # 1.5 -> 2: ties toward +inf
    (-3, 0.5, -1),          # -1.5 -> -1
    (-5, 0.25, -1),         # -1.25 -> -1
    (-6, 0.25, -1),         # -1.5 -> -1 (the int32 kernels' second rounding, by a shift, gives -2)
    (5, 0.25, 1),           # 1.25 -> 1
    (-(2**40), 2.0**-20, -(2**20)),
    (2**46, 2.0**-16, 2**30),
    (7, 1.0, 7),            # multiplier 2^30 with shift 1
])
def test_int64_requantization_worked_examples(x, real, want):
    mult, left, right = fp.quantize_multiplier(real)
    assert int(fp.multiply_by_quantized_multiplier_int64(np.int64(x), mult, left - right)) == want


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**47), 2**47 - 1), st.floats(1e-9, 100.0, allow_nan=False))
def test_int64_requantization_matches_exact(x, real):
    mult, left, right = fp.quantize_multiplier(real)
    want = exact_mbqm64(x, mult, left - right)
    if -(2**31) <= want < 2**31:  # beyond, TFLite truncates to int32 (converters keep results in range)
        assert int(fp.multiply_by_quantized_multiplier_int64(np.int64(x), mult, left - right)) == want


def test_left_shift_bound_is_enforced():
    with pytest.raises(OverflowError):
        fp.check_left_shift_bound(2**30, np.array([2]))
    fp.check_left_shift_bound(2**28, np.array([2]))


def test_c_fixedpoint_matches_numpy(tmp_path):
    """The C twin (pocketml_fixedpoint.h) on edge and random values, under UBSan."""
    header = resources.files("pocketml.deploy.c") / "runtime" / "pocketml_fixedpoint.h"
    (tmp_path / "pocketml_fixedpoint.h").write_text(header.read_text())
    (tmp_path / "t.c").write_text("""
#include <stdio.h>
#include "pocketml_fixedpoint.h"
int main(void) {
  long a, b; int e, l, r; long m; long long w;
  while (scanf("%ld %ld %d %ld %d %d %lld", &a, &b, &e, &m, &l, &r, &w) == 7) {
    printf("%ld %ld %ld %ld\\n", (long)pocketml_srdhm((int32_t)a, (int32_t)b),
           (long)pocketml_rounding_divide_by_pot((int32_t)a, e),
           (long)pocketml_multiply_by_quantized_multiplier((int32_t)b, (int32_t)m, l, r),
           (long)pocketml_multiply_by_quantized_multiplier_int64((int64_t)w, (int32_t)m, l - r));
  }
  return 0;
}""")
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", "-o", str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    r = np.random.default_rng(1)
    edges = [-(2**31), -(2**31) + 1, -1, 0, 1, 2**30, 2**31 - 1]
    a = np.concatenate([np.repeat(edges, len(edges)), r.integers(-(2**31), 2**31, 3000)]).astype(np.int64)
    b = np.concatenate([np.tile(edges, len(edges)), r.integers(-(2**31), 2**31, 3000)]).astype(np.int64)
    e = r.integers(0, 32, len(a))
    reals = r.uniform(1e-4, 0.99, len(a))
    parts = np.array([fp.quantize_multiplier(x) for x in reals])
    b_small = (b >> 8).astype(np.int64)  # keep b << left_shift inside the converter's bound
    wide = (a << 15) + r.integers(0, 2**15, len(a))  # int64 sums up to 2^46 (beyond int32, both results wrap)
    wide[:4], parts[:4] = [-6, -2, 2, 6], fp.quantize_multiplier(0.25)  # ties: -1.5, -0.5, 0.5, 1.5
    lines = "\n".join(f"{x} {y} {z} {m} {lft} {rgt} {v}" for x, y, z, (m, lft, rgt), v
                      in zip(a, b_small, e, parts, wide, strict=True))
    proc = subprocess.run([str(tmp_path / "t")], input=lines, capture_output=True, text=True, check=True)
    got = np.array([list(map(int, ln.split())) for ln in proc.stdout.splitlines()])
    assert np.array_equal(got[:, 0], fp.saturating_rounding_doubling_high_mul(a, b_small))
    assert np.array_equal(got[:, 1], fp.rounding_divide_by_pot(a, e))
    expect = fp.multiply_by_quantized_multiplier(b_small, parts[:, 0], parts[:, 1], parts[:, 2])
    assert np.array_equal(got[:, 2], expect)
    expect = fp.multiply_by_quantized_multiplier_int64(wide, parts[:, 0], parts[:, 1] - parts[:, 2])
    assert np.array_equal(got[:, 3], expect) and got[:4, 3].tolist() == [-1, 0, 1, 2]  # ties toward +inf


# -- TFLite's fixed-point helpers ----------------------------------------------------------------
def test_exp_on_negative_values_tracks_exp():
    a = np.linspace(-31.9, 0, 997)
    got = fp.exp_on_negative_values_q5(np.round(a * 2**26).astype(np.int32)) / 2**31
    assert np.abs(got - np.exp(a)).max() < 2e-6
    assert fp.exp_on_negative_values_q5(np.array([0], np.int32))[0] == 2**31 - 1


def test_reciprocal_and_leading_zeros():
    assert fp.count_leading_zeros_u32(np.array([1, 2**30, -1, 0, 2**31 - 1], np.int32)).tolist() == \
        [31, 1, 0, 32, 1]
    x = np.array([1 << 19, 3 << 19, 1000 << 19], np.int32)  # 1, 3, 1000 in Q12.19
    scale, bits = fp.get_reciprocal(x, 12)
    assert np.allclose(scale / 2**31 * 2.0 ** -bits.astype(float), [1, 1 / 3, 1 / 1000], rtol=1e-6)
    assert math.isclose(fp.one_over_one_plus_x_for_x_in_0_1(np.array([2**30], np.int32))[0] / 2**31,
                        2 / 3, rel_tol=1e-8)
