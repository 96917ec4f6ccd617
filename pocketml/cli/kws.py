"""`pocketml kws ...`: keyword spotting, end to end on the microcontroller."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import FORCE_OPT, app, console
from pocketml.errors import PocketMLError

kws_app = typer.Typer(help="Keyword spotting: synthesized speech, a fixed-point MFCC front end, a QAT int8 DS-CNN "
                           "and a streaming detector, verified as one C program on a Cortex-M4.",
                      no_args_is_help=True)
app.add_typer(kws_app, name="kws", rich_help_panel="Applications")

CACHE_OPT = typer.Option(None, "--cache", help="Data cache folder (default $POCKETML_KWS_CACHE or "
                         "~/.cache/pocketml/kws); generated once per data setting and seed.")
JSON_OPT = typer.Option(False, "--json", help="Print the result as JSON.")


def _per_class(text: str | None):
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
        assert len(values) == 3
    except (ValueError, AssertionError):
        raise PocketMLError(f"--per-class '{text}' is not TRAIN,VAL,TEST", "pass e.g. 1200,100,200") from None
    return values


def _given(**options):
    """The options the user gave (not None): the rest keep ``TrainSpec``'s defaults, their one home."""
    return {k: v for k, v in options.items() if v is not None}


def _progress(as_json: bool):
    """A rich progress display and its (stage, done, total) callback; silent with --json."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]kws[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), disable=as_json, transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1))
        bar.update(tasks[stage], completed=done, total=max(total, 1))
    return bar, update


@kws_app.command("data")
def kws_data(
    out: Path | None = typer.Option(None, help="Write OUT/data.json and OUT/examples/<label>/*.wav (listen to it)."),
    cache: Path | None = CACHE_OPT,
    seed: int = typer.Option(0, help="Data seed: voices per split, rendering parameters, augmentation."),
    per_class: str | None = typer.Option(None, help="Clips per class TRAIN,VAL,TEST (default 1200,100,200)."),
    small: bool = typer.Option(False, help="A few words and voices (the smoke-test data)."),
    festival: bool = typer.Option(True, help="Also the Festival test voices (another synthesizer)."),
    examples: int = typer.Option(3, help="Example WAVs per label and split written to OUT/examples."),
    as_json: bool = JSON_OPT,
    force: bool = FORCE_OPT,
) -> None:
    """Synthesize (or read from the cache) the keyword data set: 12 classes, voices split three ways.

    Speech comes from espeak-ng (every English voice and variant, rates, pitches, amplitudes),
    augmented with time shifts, white/pink/brown noise, babble and synthetic rooms; Festival's
    voices are a held-out test set. Nothing is downloaded.
    """
    from dataclasses import replace

    from pocketml.apps.kws.dataset import DataSpec, load_dataset, small_spec, write_data_folder

    spec = small_spec(seed) if small else replace(DataSpec(), seed=seed)
    if per_class is not None:
        spec = replace(spec, per_class=_per_class(per_class))
    bar, update = _progress(as_json)
    with bar:
        data = load_dataset(spec, cache, festival=festival, progress=update)
    if out is not None:
        write_data_folder(data, out, examples=examples, force=force)
    summary = data.summary()
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    from pocketml.report.runs import print_kws_data

    print_kws_data(summary, data.from_cache, data.cache_file, console)


@kws_app.command("train")
def kws_train(
    out: Path = typer.Option(Path("out/kws"), help="Output folder (kws.json, report.html, model.tflite, c/, kws_c/)."),
    cache: Path | None = CACHE_OPT,
    seed: int = typer.Option(0, help="Training seed (weights, batches, QAT)."),
    data_seed: int = typer.Option(0, help="Data seed (voices per split, renderings, augmentation)."),
    device: str = typer.Option("nano33ble", help="Board the model is shrunk for (`pocketml devices`)."),
    width: int | None = typer.Option(None, help="DS-CNN width (default: TrainSpec's, 64 = MLPerf Tiny's; 32 needs "
                                     "about 0.4x the instructions for about 5 points less accuracy)."),
    blocks: int | None = typer.Option(None, help="Depthwise-separable blocks (default: TrainSpec's, 4)."),
    epochs: int | None = typer.Option(None, help="Float training epochs (default: TrainSpec's, 40)."),
    qat_epochs: int | None = typer.Option(None, help="Quantization-aware training epochs (inside shrink) "
                                          "(default: TrainSpec's, 3)."),
    freq_mask: int | None = typer.Option(None, help="Mask up to this many adjacent MFCC coefficients per training "
                                         "clip (SpecAugment; 0: off) (default: TrainSpec's, 2)."),
    every: int = typer.Option(15, help="Run the model every this many 20 ms frames."),
    smooth: int = typer.Option(2, help="Average the posteriors of this many inferences."),
    threshold: float = typer.Option(0.6, help="Averaged keyword posterior that fires a detection."),
    refractory: float = typer.Option(1.0, help="Seconds after a detection during which no other fires."),
    streams: int = typer.Option(2, help="Test streams per voice set (espeak-ng, Festival)."),
    minutes: float = typer.Option(3.0, help="Length of each test stream."),
    qemu_seconds: float = typer.Option(20.0, help="Seconds of the first stream run through the program in QEMU."),
    per_class: str | None = typer.Option(None, help="Clips per class TRAIN,VAL,TEST (default 1200,100,200)."),
    wavs: Path | None = typer.Option(None, help="Your recordings (FOLDER/<label>/*.wav), augmented, for training."),
    small: bool = typer.Option(False, help="A few words, voices, a tiny model and one short stream (smoke test)."),
    as_json: bool = JSON_OPT,
    force: bool = FORCE_OPT,
) -> None:
    """Train the DS-CNN, QAT int8 with pocketml.shrink, emit the whole C program and verify it.

    Checks: the C front end == numpy on every test clip; the C program == the Python detector on
    every test stream (and in QEMU on a Cortex-M4). Measures accuracy on held-out espeak-ng and
    Festival voices, false rejections and false accepts per hour on the streams, instructions per
    frame and per inference, flash, RAM and battery life listening continuously.
    """
    from dataclasses import replace

    from pocketml.apps.kws import DetectorSpec, KwsSettings, StreamSet, TrainSpec, small_settings, train_kws

    base = small_settings(seed) if small else KwsSettings(seed=seed)
    data = replace(base.data, seed=data_seed)
    if per_class is not None:
        data = replace(data, per_class=_per_class(per_class))
    settings = base if small else replace(
        base, train=TrainSpec(**_given(width=width, blocks=blocks, epochs=epochs, qat_epochs=qat_epochs,
                                       freq_mask=freq_mask)),
        detector=DetectorSpec(every, smooth, threshold, refractory), streams=StreamSet(n=streams, minutes=minutes),
        qemu_seconds=qemu_seconds)
    settings = replace(settings, data=data, device=device)
    bar, update = _progress(as_json)
    with bar:
        run = train_kws(settings, out, cache=cache, wavs=wavs, force=force, progress=update)
    if as_json:
        print(json.dumps({k: v for k, v in run.to_dict().items() if k != "artifact"}, indent=2, default=str))
        return
    from pocketml.report.runs import print_kws_run

    print_kws_run(run, out, console)


@kws_app.command("evaluate")
def kws_evaluate(
    model: Path = typer.Argument(..., help="A folder written by `pocketml kws train`."),
    cache: Path | None = CACHE_OPT,
    wavs: Path | None = typer.Option(None, help="Your recordings to score: FOLDER/<label>/*.wav (the model's labels)."),
    streams: int = typer.Option(2, help="Test streams per voice set (0: none)."),
    minutes: float = typer.Option(3.0, help="Length of each test stream."),
    stream_seed: int = typer.Option(100, help="Seed of the first stream."),
    threshold: float | None = typer.Option(None, help="Another detection threshold than the trained one."),
    every: int | None = typer.Option(None, help="Another inference interval (frames) than the trained one."),
    smooth: int | None = typer.Option(None, help="Another number of inferences averaged than the trained one."),
    synthetic: bool = typer.Option(True, help="Score the held-out synthesized splits (test, festival)."),
    c: bool = typer.Option(True, help="Also run the compiled program on every stream and compare."),
    as_json: bool = JSON_OPT,
) -> None:
    """Accuracy on held-out voices (and your recordings), FRR and false accepts per hour on streams."""
    from dataclasses import replace

    from pocketml.apps.kws import KwsArtifact, StreamSet, evaluate_kws

    det = None
    asked = (("threshold", threshold), ("every_frames", every), ("smooth", smooth))
    changes = {k: v for k, v in asked if v is not None}
    if changes:
        det = replace(KwsArtifact.load(model).detector, **changes)
    plan = StreamSet(n=streams, minutes=minutes, seed=stream_seed) if streams > 0 else None
    bar, update = _progress(as_json)
    with bar:
        ev = evaluate_kws(model, cache=cache, wavs=wavs, streams=plan, detector=det, c=c,
                          splits=("test", "festival") if synthetic else (), progress=update)
    if as_json:
        print(json.dumps(ev.to_dict(), indent=2))
        return
    from pocketml.report.runs import print_kws_evaluation

    print_kws_evaluation(str(model), ev, console)


@kws_app.command("detect")
def kws_detect(
    wav: Path = typer.Argument(..., help="A WAV file (any rate, channels, PCM or float): resampled to 16 kHz mono."),
    model: Path = typer.Option(Path("out/kws"), help="A folder written by `pocketml kws train`."),
    threshold: float | None = typer.Option(None, help="Another detection threshold than the trained one."),
    c: bool = typer.Option(False, "--c", help="Also run the compiled program and check it detects the same."),
    as_json: bool = JSON_OPT,
) -> None:
    """List the keywords detected in a recording (time, keyword, averaged posterior)."""
    from dataclasses import replace

    from pocketml.apps.kws import KwsArtifact, detect_wav

    det = None if threshold is None else replace(KwsArtifact.load(model).detector, threshold=threshold)
    found = detect_wav(wav, model, detector=det, c=c)
    if as_json:
        print(json.dumps(found.to_dict(), indent=2))
        return
    from pocketml.report.runs import print_kws_detections

    print_kws_detections(wav.name, found, console)
