"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite Micro's int8 x int16 LSTM, its state kept between calls
(streaming) or reset at every call (per inference).

    op.py  (gates: pocketml/ops/sigmoid16.py)  unidirectional_sequence_lstm.c/.h  c.py  tflite.py
    unidirectional_sequence_lstm_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension (SMLAD dot products)
    capture.py (nn.LSTM's float arithmetic and quantization; the capture rule is graph/recurrent.py)
    test_unidirectional_sequence_lstm.py
"""

from pocketml.ops.spec import OpSpec
from pocketml.ops.unidirectional_sequence_lstm.c import c_params
from pocketml.ops.unidirectional_sequence_lstm.capture import float_forward, from_float
from pocketml.ops.unidirectional_sequence_lstm.dsp import dsp_params
from pocketml.ops.unidirectional_sequence_lstm.op import LSTMData, UnidirectionalSequenceLSTM
from pocketml.ops.unidirectional_sequence_lstm.tflite import READ, write

SPEC = OpSpec(
    "unidirectional_sequence_lstm",
    UnidirectionalSequenceLSTM,
    c_kernel="unidirectional_sequence_lstm.c",
    c_params=c_params,
    dsp_kernel="unidirectional_sequence_lstm_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "LSTMData", "UnidirectionalSequenceLSTM"]
