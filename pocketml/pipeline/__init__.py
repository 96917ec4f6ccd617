"""The one orchestrator: every run of pocketml goes through these stages, in this order.

    shrink (from_torch.py):   [select] ─▶ [train] ─▶ [compress] ─▶ capture ─▶ quantize ─┐
    compile (from_tflite.py): read .tflite ─▶ run it in TFLite Micro ──────────────────────┤
                                                                                          ▼
    deploy (deploy.py):       plan ─▶ emit C ─▶ build + run ─▶ Cortex-M + QEMU ─▶ verify ─▶ estimate
                              ─▶ energy ─▶ result.json + report.html, into a staged OUT (outputs.py)

Each stage names itself to ``on_stage`` as it starts; the CLI shows that as its progress.
"""

from pocketml.pipeline.deploy import TestRun, deploy
from pocketml.pipeline.from_tflite import CompileCheck, check_tflite_model, compile_tflite
from pocketml.pipeline.from_torch import shrink, shrink_builtin

__all__ = ["CompileCheck", "TestRun", "check_tflite_model", "compile_tflite", "deploy", "shrink", "shrink_builtin"]
