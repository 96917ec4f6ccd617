"""The streaming detector: the decision rule by hand, and kws_feed (C) == the Python detector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketml.apps.kws import csource
from pocketml.apps.kws.detector import DetectorSpec, Event, StreamingDetector, decide, inference_frames, smoothed_sums
from pocketml.apps.kws.frontend import FeatureQuantizer, FixedFrontEnd, feature_statistics, standardize
from pocketml.errors import PocketMLError

LABELS = ("silence", "unknown", "yes", "no", "up")


def test_inference_schedule_and_smoothing():
    assert inference_frames(60, 49, 5).tolist() == [48, 53, 58]
    out = np.array([[-128, 0, 127], [0, 0, 0], [-28, 100, -128]], dtype=np.int8)
    sums = smoothed_sums(out, 2)
    naive = [[0 + 0 + 128 * 0 + 0, 128, 255], [128, 256, 383], [228, 356, 128]]
    assert sums.tolist() == naive


def test_decision_rule_threshold_best_keyword_refractory():
    frames = np.array([48, 53, 58, 63, 68, 120])
    sums = np.array([[0, 0, 10, 50, 0],      # below threshold
                     [0, 0, 70, 70, 0],      # tie: the first keyword (2) wins
                     [0, 0, 0, 0, 90],       # within the refractory time: suppressed
                     [0, 0, 0, 90, 0],       # 63 - 53 = 10 frames: allowed
                     [999, 999, 0, 0, 0],    # silence / unknown never fire
                     [0, 0, 60, 0, 0]])
    events = decide(frames, sums, threshold_sum=60, refractory_frames=10)
    assert events == (Event(53, 2, 70), Event(63, 3, 90), Event(120, 2, 60))
    assert DetectorSpec(smooth=3, threshold=0.5).threshold_sum == 384
    assert DetectorSpec(refractory_s=1.0).refractory_frames(20.0) == 50
    with pytest.raises(PocketMLError):
        DetectorSpec(threshold=1.5).check()


@pytest.fixture(scope="module")
def tiny_program(tmp_path_factory):
    """A random (untrained) DS-CNN through pocketml's emitter and the whole program, sanitized."""
    from pocketml.compress.quantize import quantize
    from pocketml.deploy.c import emit_c
    from pocketml.graph.capture import capture
    from pocketml.graph.planner import plan_memory
    from pocketml.models.ds_cnn import DSCNN

    fe = FixedFrontEnd()
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal((6, 16000)) * np.array([30, 300, 3000, 100, 1000, 10])[:, None]).astype(np.int16)
    mfcc = fe.mfcc_q16(pcm)
    mean, std = feature_statistics(mfcc)
    x = standardize(mfcc, mean, std)[:, None]
    torch.manual_seed(0)
    model = DSCNN(width=4, n_classes=len(LABELS), blocks=1).eval()
    qgraph = quantize(capture(model, torch.as_tensor(x[:1]), "kws_model"), x)
    tmp = tmp_path_factory.mktemp("kws")
    src = emit_c(qgraph, plan_memory(qgraph), "kws_model")
    csource.write_files(tmp / "c", src.files)
    info = qgraph.input_info.quant
    quant = FeatureQuantizer(mean, std, info.scale, info.zero_point)
    return fe, quant, qgraph, tmp


@pytest.mark.parametrize("every,smooth", [(5, 2), (1, 1), (25, 4)])
def test_c_kws_feed_equals_python_on_a_stream(tiny_program, every, smooth):
    fe, quant, qgraph, tmp = tiny_program
    spec = DetectorSpec(every_frames=every, smooth=smooth, threshold=0.08, refractory_s=0.3)
    files = csource.program_files(fe, quant, spec, LABELS, tmp / "c", "kws_model")
    binary = csource.build(csource.write_files(tmp / f"kws_c_{every}", files), csource.SANITIZE)
    rng = np.random.default_rng(every)
    t = np.arange(16000 * 12) / 16000
    stream = (3000 * np.sin(2 * np.pi * 300 * t * (1 + (t % 2))) * (t % 3 > 1.5)
              + rng.standard_normal(len(t)) * 200).astype(np.int16)
    run = StreamingDetector(fe, quant, qgraph.run, spec).run(stream)
    assert len(run.events) > 3  # the low threshold makes the random model fire
    want = [(e.frame, e.label, e.score) for e in run.events]
    for seed in (1, 2):  # different chunkings of the same samples
        assert csource.c_stream_events(binary, stream, seed) == want
    features = csource.c_frontend_mfcc(binary, stream[:480 * 3].reshape(3, 480), 10)
    assert np.array_equal(features, fe.frame_mfcc_q16(stream[:480 * 3].reshape(3, 480)))
