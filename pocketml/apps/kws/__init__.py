"""Keyword spotting, end to end on the microcontroller: audio in, detections out, one verified C program.

    data = load_dataset(DataSpec(seed=0), cache=None)       # espeak-ng + Festival, augmented, split by voice
    run = train_kws(KwsSettings(), "out/kws")                 # DS-CNN, QAT int8, C program, checks, M4 figures
    ev = evaluate_kws("out/kws", wavs="my_recordings/")       # held-out voices, streams, your recordings
    found = detect_wav("kitchen.wav", "out/kws", c=True)      # detections, and the C program's

Modules: ``speech`` (synthesizers), ``augment``, ``dataset``, ``audio`` (WAV in/out), ``frontend``
(the MFCCs: float, fixed-point numpy; C twin in ``c/``), ``train``, ``detector`` (streaming, in
integers), ``streams`` (long test streams, scoring), ``csource`` (the C program), ``cortexm``
(QEMU measurement), ``artifact``, ``evaluate``, ``detect``, ``run`` (``train_kws``), ``report``.
See docs/kws.md.
"""

from pocketml.apps.kws.artifact import KwsArtifact
from pocketml.apps.kws.audio import LabelledClips, load_wav_folder, read_pcm16k
from pocketml.apps.kws.dataset import DataSpec, KwsDataset, load_dataset, small_spec, write_data_folder
from pocketml.apps.kws.detect import Detection, detect_wav
from pocketml.apps.kws.detector import DetectorSpec, StreamingDetector
from pocketml.apps.kws.evaluate import Evaluation, StreamSet, evaluate_kws
from pocketml.apps.kws.frontend import FeatureQuantizer, FixedFrontEnd, FrontEndSpec, mfcc_float
from pocketml.apps.kws.run import KwsRun, train_kws
from pocketml.apps.kws.settings import KwsSettings, small_settings
from pocketml.apps.kws.train import TrainSpec

__all__ = ["DataSpec", "Detection", "DetectorSpec", "Evaluation", "FeatureQuantizer", "FixedFrontEnd", "FrontEndSpec",
           "KwsArtifact", "KwsDataset", "KwsRun", "KwsSettings", "LabelledClips", "StreamSet", "StreamingDetector",
           "TrainSpec", "detect_wav", "evaluate_kws", "load_dataset", "load_wav_folder", "mfcc_float", "read_pcm16k",
           "small_settings", "small_spec", "train_kws", "write_data_folder"]
