"""The op set: one folder per op, each holding everything pocketml knows about that op.

    pocketml/ops/<kind>/
        op.py           the reference: a frozen dataclass with ``prepare(tensors)`` (every check,
                        every constant, once) and ``evaluate(data, *xs)`` (integer arithmetic only),
                        TFLite Micro's prepare/eval split; the arithmetic commented once
        <kind>.c/.h     the C kernel and its parameter struct (portable C99; reads like op.py)
        c.py            the struct's values for one layer (``c_params``)
        tflite.py       the TFLite operator written (``write``) and read (``READ``)
        capture.py      the PyTorch rule (``CAPTURE``: ATen op → float layer) and the float layer
                        quantized (``from_float``)
        test_<kind>.py  its tests: goldens, C == reference under sanitizers, rejections
        __init__.py     ``SPEC``: the :class:`~pocketml.ops.spec.OpSpec` tying these together

Shared by every op: ``requantize.py`` (the int32 → int8 step), ``weights.py`` (int8 weights and
int32 biases), ``c.py`` (what a C builder gets), ``tflite_read.py`` / ``tflite_write.py`` (TFLite
helpers), ``spec.py``. ``registry.py`` lists the folders; it is the only place that switches on an
op's kind. How to add an op: ``docs/DESIGN.md``.
"""
