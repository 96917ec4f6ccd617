"""Recipes: named compression stages with settings, validated up front and run in order by ``shrink``.

A recipe is TOML (or built in Python with :class:`Recipe` / :class:`StageSpec`)::

    name = "deep"
    [[stage]]
    kind = "prune"        # unstructured, gradual, fine-tuned
    sparsity = 0.75
    [[stage]]
    kind = "qat"          # quantization-aware training at the deploy arithmetic
    bits = 4
    [[stage]]
    kind = "huffman"      # Huffman-code weights where that is smaller

Stage kinds (settings and defaults in :data:`STAGES`): ``distill`` (a narrower/shallower student
taught by the model), ``channels`` (structured channel pruning, torch-pruning), ``prune``
(unstructured), ``quantize`` (post-training, 8/4/2-bit weights), ``qat``, ``mixed`` (bits per layer
by measured sensitivity under a byte budget) and ``huffman``. Model stages (``distill``,
``channels``) come before graph stages. Everything is checked by :meth:`Recipe.validate` before any
training: unknown stages or settings, a sparsity outside [0, 1), a bit width the C emitter cannot
run, a student wider than its teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from pocketml.compress.encoding import SUPPORTED_BITS, check_bits
from pocketml.compress.prune import CRITERIA, check_sparsity
from pocketml.errors import PocketMLError

# kind -> {setting: default}; a default's type is the setting's type
STAGES: dict[str, dict[str, Any]] = {
    "distill": {"width": 0.5, "depth": 1.0, "temperature": 4.0, "alpha": 0.7, "hidden_weight": 1.0,
                "general_epochs": 10, "task_epochs": 30, "augment_noise": 0.0, "lr": 3e-3},
    "channels": {"ratio": 0.5, "epochs": 15, "lr": 1e-3},
    "prune": {"sparsity": 0.7, "criterion": "magnitude", "epochs": 12, "lr": 1e-3, "min_weights": 256},
    "quantize": {"bits": 8, "layer_bits": []},
    "qat": {"bits": 8, "layer_bits": [], "epochs": 8, "lr": 5e-4},
    "mixed": {"budget_bytes": 0, "bits": [8, 4, 2], "epochs": 6, "lr": 5e-4},
    "huffman": {},
}
MODEL_STAGES = ("distill", "channels")
TRAINING_STAGES = ("distill", "channels", "prune", "qat", "mixed")


@dataclass(frozen=True)
class StageSpec:
    """One stage of a recipe: its kind and the settings that differ from the defaults."""

    kind: str
    settings: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.settings.get(key, STAGES[self.kind][key])

    def describe(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"{self.kind}({inner})"


@dataclass(frozen=True)
class Recipe:
    """An ordered list of stages (``Recipe("mine", (StageSpec("prune", {"sparsity": 0.5}), ...))``)."""

    name: str
    stages: tuple[StageSpec, ...]

    def validate(self) -> Recipe:
        """Every check that can fail, before any training starts; returns self."""
        if not self.stages:
            raise PocketMLError(f"recipe '{self.name}' has no stages", "add at least one [[stage]] with a kind")
        seen_graph = False
        quant = 0
        for i, st in enumerate(self.stages):
            where = f"recipe '{self.name}', stage {i + 1} ({st.kind}): "
            if st.kind not in STAGES:
                raise PocketMLError(f"recipe '{self.name}' names an unknown stage '{st.kind}'",
                                    f"stage kinds are: {', '.join(STAGES)}")
            unknown = set(st.settings) - set(STAGES[st.kind])
            if unknown:
                raise PocketMLError(f"{where}unknown setting(s) {', '.join(sorted(unknown))}",
                                    f"settings of {st.kind}: {', '.join(STAGES[st.kind]) or 'none'}")
            for key, value in st.settings.items():
                want = type(STAGES[st.kind][key])
                ok = isinstance(value, want) or (want is float and isinstance(value, int))
                if not ok or isinstance(value, bool):
                    raise PocketMLError(f"{where}{key} = {value!r} should be a {want.__name__}",
                                        f"e.g. {key} = {STAGES[st.kind][key]!r}")
            if st.kind in MODEL_STAGES and seen_graph:
                raise PocketMLError(f"{where}model stages (distill, channels) must come before "
                                    "prune/quantize/qat/mixed",
                                    "reorder the stages")
            if st.kind in ("prune", "quantize", "qat", "mixed"):
                seen_graph = True
            if st.kind in ("quantize", "qat", "mixed"):
                quant += 1
            if st.kind == "distill":
                for key in ("width", "depth"):
                    v = float(st.get(key))
                    if v > 1.0:
                        raise PocketMLError(f"{where}a student with {key} multiplier {v} would be larger "
                                            "than its teacher",
                                            f"use a {key} multiplier in (0, 1]")
                    if v <= 0.0:
                        raise PocketMLError(f"{where}{key} multiplier {v} must be > 0", f"use a {key} in (0, 1]")
                if not 0.0 <= float(st.get("alpha")) <= 1.0 or float(st.get("temperature")) <= 0:
                    raise PocketMLError(f"{where}alpha must be in [0, 1] and temperature > 0",
                                        "e.g. temperature = 4.0, alpha = 0.7")
            if st.kind == "channels":
                check_sparsity(st.get("ratio"), f"{where}channel ratio")
            if st.kind == "prune":
                check_sparsity(st.get("sparsity"), f"{where}sparsity")
                if st.get("criterion") not in CRITERIA:
                    raise PocketMLError(f"{where}unknown criterion '{st.get('criterion')}'",
                                        f"use one of {', '.join(CRITERIA)}")
            if st.kind in ("quantize", "qat"):
                check_bits(st.get("bits"), where)
                for b in st.get("layer_bits"):  # one width per weight layer, in graph order (overrides bits)
                    check_bits(b, where)
            if st.kind == "mixed":
                for b in st.get("bits"):
                    check_bits(b, where)
                if st.get("budget_bytes") <= 0:
                    raise PocketMLError(f"{where}mixed precision needs budget_bytes > 0",
                                        "set budget_bytes to the weight bytes allowed, e.g. 4000")
            if st.kind in ("prune", "qat", "mixed", "channels") and int(st.get("epochs")) < 0:
                raise PocketMLError(f"{where}epochs must be >= 0", "e.g. epochs = 8")
        if quant > 1:
            raise PocketMLError(f"recipe '{self.name}' quantizes {quant} times",
                                "keep one of quantize / qat / mixed")
        return self

    @property
    def needs_labels(self) -> bool:
        return any(st.kind in TRAINING_STAGES for st in self.stages)

    def describe(self) -> str:
        return " → ".join(st.describe() for st in self.stages)

    def to_toml(self) -> str:
        lines = [f'name = "{self.name}"']
        for st in self.stages:
            lines += ["", "[[stage]]", f'kind = "{st.kind}"']
            for k, v in st.settings.items():
                lines.append(f"{k} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, doc: dict[str, Any], default_name: str = "custom") -> Recipe:
        stages = doc.get("stage", [])
        if not isinstance(stages, list) or not all(isinstance(s, dict) for s in stages):
            raise PocketMLError("a recipe's stages must be [[stage]] tables", 'write [[stage]] then kind = "prune"')
        specs = []
        for s in stages:
            if "kind" not in s:
                raise PocketMLError(f"a recipe stage has no kind: {s}", f"add kind = one of {', '.join(STAGES)}")
            specs.append(StageSpec(str(s["kind"]), {k: v for k, v in s.items() if k != "kind"}))
        return cls(str(doc.get("name", default_name)), tuple(specs)).validate()

    @classmethod
    def from_toml(cls, path: str | Path) -> Recipe:
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text())
        except OSError as exc:
            raise PocketMLError(f"cannot read recipe {path}: {exc.strerror}", "pass an existing .toml file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PocketMLError(f"recipe {path} is not valid TOML: {exc}", "fix the TOML syntax") from exc
        return cls.from_dict(doc, path.stem)


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


BUILTIN_RECIPES: dict[str, Recipe] = {
    "int8": Recipe("int8", (StageSpec("quantize", {"bits": 8}),)),
    "qat-int4": Recipe("qat-int4", (StageSpec("qat", {"bits": 4}),)),
    "deep": Recipe("deep", (StageSpec("prune", {"sparsity": 0.75}), StageSpec("qat", {"bits": 4}),
                            StageSpec("huffman"))),
    "deep-int2": Recipe("deep-int2", (StageSpec("prune", {"sparsity": 0.5}),
                                      StageSpec("qat", {"bits": 2, "epochs": 12}),
                                      StageSpec("huffman"))),
}


def get_recipe(recipe: str | Path | Recipe | None) -> Recipe:
    """A built-in name, a .toml path or a Recipe → a validated Recipe (None → ``int8``)."""
    if recipe is None:
        return BUILTIN_RECIPES["int8"]
    if isinstance(recipe, Recipe):
        return recipe.validate()
    text = str(recipe)
    if text in BUILTIN_RECIPES:
        return BUILTIN_RECIPES[text]
    if text.endswith(".toml") or Path(text).is_file():
        return Recipe.from_toml(text)
    raise PocketMLError(f"unknown recipe '{text}'",
                        f"use a built-in recipe ({', '.join(BUILTIN_RECIPES)}) or a .toml file")


assert all(b in SUPPORTED_BITS for b in (8, 4, 2))
