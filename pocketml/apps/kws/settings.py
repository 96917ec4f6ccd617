"""Every setting of a keyword-spotter run, in one frozen object (and its small ``make test`` version)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pocketml.apps.kws.augment import AugmentSpec
from pocketml.apps.kws.dataset import DataSpec, small_spec
from pocketml.apps.kws.detector import DetectorSpec
from pocketml.apps.kws.evaluate import StreamSet
from pocketml.apps.kws.frontend import FrontEndSpec
from pocketml.apps.kws.train import TrainSpec


@dataclass(frozen=True)
class KwsSettings:
    """A whole run: data, model training, detector, test streams, board and seed.

    Parameters
    ----------
    data : what to synthesize (``DataSpec``; its own ``seed`` makes the voices and clips).
    train : the DS-CNN and its training (``TrainSpec``).
    detector : inference interval, smoothing, threshold, refractory time (``DetectorSpec``).
    streams : the long test streams (``StreamSet``).
    device : the board the model is shrunk for (default ``nano33ble``).
    seed : the training seed (weights, batch order, QAT).
    qemu_seconds : seconds of the first test stream run through the whole program in QEMU (0: skip).
    frontend : the front end (``FrontEndSpec``; the MLPerf Tiny MFCCs by default).
    wav_copies : augmented copies of each of the user's recordings added to training (``--wavs``).
    """

    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    detector: DetectorSpec = field(default_factory=DetectorSpec)
    streams: StreamSet = field(default_factory=StreamSet)
    device: str = "nano33ble"
    seed: int = 0
    qemu_seconds: float = 20.0
    frontend: FrontEndSpec = field(default_factory=FrontEndSpec)
    wav_copies: int = 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def small_settings(seed: int = 0) -> KwsSettings:
    """A few words, a few voices, a tiny model, one short stream: the end-to-end check of ``make test``."""
    return KwsSettings(data=small_spec(seed), train=TrainSpec(width=8, blocks=1, epochs=8, batch_size=32, lr=5e-3,
                                                              qat_epochs=1, time_mask=0),
                       detector=DetectorSpec(every_frames=10, smooth=2, threshold=0.5),
                       streams=StreamSet(n=1, minutes=0.5, festival=False), seed=seed, qemu_seconds=4.0)


def data_spec_from_dict(doc: dict[str, Any]) -> DataSpec:
    """A DataSpec back from ``asdict`` (lists → tuples, the nested AugmentSpec)."""
    def tup(v):
        return tuple(tup(x) for x in v) if isinstance(v, list) else v
    known = {f.name for f in fields(DataSpec)}
    kw = {k: tup(v) for k, v in doc.items() if k in known and k != "augment"}
    aug = {k: tup(v) for k, v in doc.get("augment", {}).items() if k in {f.name for f in fields(AugmentSpec)}}
    return DataSpec(**kw, augment=AugmentSpec(**aug))
