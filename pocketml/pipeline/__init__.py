"""The one orchestrator: every run of pocketml goes through these stages, in this order.

    shrink (from_torch.py):   [select] ─▶ [train] ─▶ [compress] ─▶ capture ─▶ quantize ─┐
    compile (from_tflite.py): read .tflite ─▶ run it in TFLite Micro ──────────────────────┤
                                                                                          ▼
    deploy (deploy.py):       plan ─▶ emit C ─▶ build + run ─▶ Cortex-M + QEMU ─▶ verify ─▶ estimate
                              ─▶ energy ─▶ result.json + report.html, into a staged OUT (outputs.py)

Each stage names itself to ``on_stage`` as it starts; the CLI shows that as its progress. The names
below are imported on first use, so ``compile`` of a .tflite never loads torch.
"""

from importlib import import_module

_NAMES = {"CompileCheck": "from_tflite", "check_tflite_model": "from_tflite", "compile_tflite": "from_tflite",
          "TestRun": "deploy", "deploy": "deploy", "shrink": "from_torch", "shrink_builtin": "from_torch"}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(import_module(f"pocketml.pipeline.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'pocketml.pipeline' has no attribute {name!r}")
