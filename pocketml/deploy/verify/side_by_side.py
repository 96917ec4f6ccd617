"""Times the emitted C and TFLite Micro side by side, interleaved, in one child process.

Run as a script, not imported (it needs only numpy, ctypes and ``tflite_micro``), by
``latency.time_side_by_side``:

    side_by_side.py LIBRARY MODEL.tflite INPUTS.npy OUT.npz ARENA ROUNDS [N_OUTPUTS]

LIBRARY is the model's C (built as a shared library with the artifact's own flags) plus a
``pocketml_time_pass`` function that times ``<prefix>_invoke`` over the inputs with
``clock_gettime`` (inside C: no ctypes call per inference). TFLite Micro's interpreter is timed
with ``perf_counter_ns`` around each ``invoke()`` (setting the input is outside; the pybind
call itself is inside, well under a microsecond). After one untimed warm-up pass of each, every
round runs one C pass and then one TFLite Micro pass over the same inputs, so both see the same
machine load. Saved: ``c`` and ``tflm`` (seconds per inference, one value per round) and the
outputs of both (``c_out``, ``tflm_out``) so the caller can check the timed code computed the
same bytes (a model's several outputs packed in order, as the C's ``<prefix>_invoke`` writes them).
"""

import ctypes
import sys
import time

import numpy as np


def main(library: str, model_path: str, inputs_path: str, out_path: str, arena: int, rounds: int,
         n_outputs: int = 1, reset: int = 0) -> None:
    from tflite_micro.python.tflite_micro import runtime

    given = np.load(inputs_path)  # uint8 for a model whose input a QUANTIZE converts
    x = np.ascontiguousarray(given, dtype=given.dtype if given.dtype in (np.uint8, np.int16) else np.int8)
    n = len(x)
    lib = ctypes.CDLL(library)
    lib.pocketml_time_pass.restype = ctypes.c_double
    lib.pocketml_time_pass.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
    out_bytes = int(lib.pocketml_output_bytes())
    c_out = np.zeros((n, out_bytes), np.int8)
    interp = runtime.Interpreter.from_bytes(open(model_path, "rb").read(), arena_size=arena)
    tflm_out = []

    def c_pass() -> float:
        return float(lib.pocketml_time_pass(x.ctypes.data, n, c_out.ctypes.data))

    def tflm_pass(keep: bool) -> float:
        total = 0
        for i in range(n):
            if reset:  # a model whose state resets per inference (its C resets itself)
                interp.reset()
            interp.set_input(x[i:i + 1], 0)
            t0 = time.perf_counter_ns()
            interp.invoke()
            total += time.perf_counter_ns() - t0
            if keep:
                tflm_out.append(np.concatenate([np.ascontiguousarray(interp.get_output(j)).reshape(-1).view(np.int8)
                                                for j in range(n_outputs)]))
        return total / n / 1e9

    c_pass()  # warm-up: caches, page faults, lazy binding
    tflm_pass(keep=False)
    c_times, tflm_times = [], []
    for r in range(rounds):  # the outputs of the last pass of each: after as many invokes (a model with memory)
        c_times.append(c_pass())
        tflm_times.append(tflm_pass(keep=r == rounds - 1))
    np.savez(out_path, c=np.array(c_times), tflm=np.array(tflm_times), c_out=c_out,
             tflm_out=np.stack(tflm_out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
         int(sys.argv[7]) if len(sys.argv) > 7 else 1, int(sys.argv[8]) if len(sys.argv) > 8 else 0)
