"""A trained keyword spotter on disk: ``OUT/kws.json`` (settings, feature statistics, detector) and
``OUT/model.tflite`` (the int8 model, read back as the integer reference)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.apps.kws.detector import DetectorSpec, StreamingDetector
from pocketml.apps.kws.frontend import FeatureQuantizer, FixedFrontEnd, FrontEndSpec
from pocketml.errors import PocketMLError

MODEL_NAME = "kws_model"  # the C prefix: kws_model_invoke, KWS_MODEL_INPUT_BYTES


@dataclass
class KwsArtifact:
    """What detection needs: labels, front end, feature quantizer, detector settings and the int8 model."""

    labels: tuple[str, ...]
    frontend: FrontEndSpec
    quantizer: FeatureQuantizer
    detector: DetectorSpec
    qgraph: Any  # pocketml.graph.ir.QuantGraph
    data: dict  # the DataSpec the model was trained with (asdict), to evaluate on the same held-out voices
    folder: Path | None = None

    def streaming(self, detector: DetectorSpec | None = None) -> StreamingDetector:
        return StreamingDetector(FixedFrontEnd(self.frontend), self.quantizer, self.qgraph.run,
                                 detector or self.detector)

    def classify(self, mfcc_q16: np.ndarray) -> np.ndarray:
        """int8 posteriors [N, classes] of clips' MFCCs (Q16), through the quantizer and the int8 model."""
        x = self.quantizer(mfcc_q16)[..., None]
        return np.asarray(self.qgraph.run(x)).reshape(len(x), -1)

    def to_json(self) -> dict:
        q = self.quantizer
        return {"labels": list(self.labels), "frontend": asdict(self.frontend), "detector": asdict(self.detector),
                "features": {"mean_q16": q.mean_q16.tolist(), "std": q.std.tolist(), "input_scale": q.input_scale,
                             "input_zero_point": q.zero_point}, "data": self.data, "model": MODEL_NAME}

    @classmethod
    def load(cls, folder: str | Path) -> KwsArtifact:
        from pocketml.deploy.tflite.reader import read_tflite

        folder = Path(folder)
        path = folder / "kws.json"
        if not path.is_file() or not (folder / "model.tflite").is_file():
            raise PocketMLError(f"{folder} is not a trained keyword spotter (no kws.json / model.tflite)",
                                "pass the --out folder of `pocketml kws train`")
        try:
            doc = json.loads(path.read_text())["artifact"]
            feats = doc["features"]
            quant = FeatureQuantizer(np.array(feats["mean_q16"], dtype=np.int32), np.array(feats["std"]),
                                     float(feats["input_scale"]), int(feats["input_zero_point"]))
            fe = FrontEndSpec(**doc["frontend"])
            det = DetectorSpec(**doc["detector"])
            labels = tuple(doc["labels"])
            data = doc["data"]
        except (KeyError, TypeError, ValueError) as exc:
            raise PocketMLError(f"{path} is damaged or from another version ({exc})",
                                "retrain with `pocketml kws train`") from exc
        graph = read_tflite(folder / "model.tflite", MODEL_NAME).graph
        return cls(labels, fe, quant, det, graph, data, folder)
