"""File formats as data, below every layer that reads or writes them (``tflite``: the flatbuffer spec)."""
