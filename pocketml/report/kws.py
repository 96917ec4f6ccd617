"""OUT/report.html of a keyword spotter: one self-contained page (inline SVG, ``pocketml.report``'s helpers).

Confusion matrices, a test stream's spectrogram with the keywords spoken and the detections made,
the detection-error trade-off curve, the front end's fixed-point error, C == Python checks, the
Cortex-M4 figures and the energy budget of listening continuously.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pocketml.outputs import write_atomic  # noqa: E402
from pocketml.report.html import CSS  # noqa: E402
from pocketml.report.svg import figure_svg  # noqa: E402


def confusion_svg(confusion: list[list[int]], labels: tuple[str, ...], title: str) -> str:
    m = np.asarray(confusion, dtype=float)
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(m)):
        for j in range(len(m)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("spoken")
    ax.set_title(title, fontsize=9)
    return figure_svg(fig)


def stream_svg(pcm: np.ndarray, occurrences, events, labels: tuple[str, ...], hop: int, window: int,
               seconds: float = 40.0, sr: int = 16_000) -> str:
    """The first ``seconds`` of a stream: spectrogram, keywords spoken (bars), detections (lines)."""
    n = int(min(len(pcm), seconds * sr))
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = pcm[:n].astype(np.float64) / 32768.0 + 1e-7
    ax.specgram(x, NFFT=512, Fs=sr, noverlap=320, cmap="magma", vmin=-130)
    for o in occurrences:
        if o.start / sr < n / sr:
            ax.axvspan(o.start / sr, o.end / sr, ymin=0.93, ymax=1.0, color="#3a3")
            ax.text(o.start / sr, sr / 2 * 0.9, labels[o.label], color="#3a3", fontsize=7, va="top")
    for e in events:
        t = (e.frame * hop + window) / sr
        if t <= n / sr:
            ax.axvline(t, color="cyan", lw=1.2)
            ax.text(t, 300, labels[e.label], color="cyan", fontsize=7, rotation=90, va="bottom")
    ax.set_xlim(0, n / sr)
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    ax.set_title("test stream: green bars = keywords spoken, cyan lines = detections (end of the 1 s window)",
                 fontsize=9)
    return figure_svg(fig)


def det_svg(curves: dict[str, list[dict]], chosen: float) -> str:
    fig, ax = plt.subplots(figsize=(6, 4))
    for engine, curve in curves.items():
        fa = [max(c["false_accepts_per_hour"], 0.1) for c in curve]
        frr = [100 * c["false_rejection_rate"] for c in curve]
        ax.plot(fa, frr, ".-", label=f"{engine} voices")
        near = min(curve, key=lambda c: abs(c["threshold"] - chosen))
        ax.plot(max(near["false_accepts_per_hour"], 0.1), 100 * near["false_rejection_rate"], "k*", ms=10)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.1)")
    ax.set_ylabel("false rejections (%)")
    ax.set_title(f"detection-error trade-off over thresholds (star: the chosen {chosen:.2f})", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return figure_svg(fig)


def _table(rows: list[tuple], head: tuple[str, ...]) -> str:
    e = html.escape
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr>{body}</table>"


def render(run) -> str:
    e = html.escape
    labels = run.artifact.labels
    fe = run.artifact.frontend
    acc = run.accuracy
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>pocketml keyword spotter</title>"
             f"<style>{CSS}</style></head><body><h1>Keyword spotter: {e(', '.join(labels[2:]))}</h1>",
             f"<p>DS-CNN width {run.settings.train.width}, {run.settings.train.blocks} blocks, QAT int8, on "
             f"{e(run.settings.device)}; the model alone: <a href='model.html'>model.html</a>. Every figure on "
             "this page was measured by the run that wrote it.</p>", "<h2>Accuracy (int8 front end + int8 model)</h2>",
             _table([(k, v.n, f"{v.accuracy:.2%}") for k, v in acc.items()], ("split", "clips", "12-class accuracy")),
             "<p>test: held-out espeak-ng voices (speakers never trained on); festival: another synthesizer, "
             "never trained on.</p>"]
    noise = [(name, group, g["n"], f"{g['accuracy']:.2%}") for name in ("test", "festival") if name in acc
             for group, g in acc[name].by_noise.items()]
    if noise:
        parts.append(_table(noise, ("split", "clips", "n", "accuracy")))
    for name in ("test", "festival"):
        if name in acc:
            parts.append(f"<figure>{confusion_svg(acc[name].confusion, labels, f'{name}: confusion')}</figure>")
    ev = run.streams
    parts.append("<h2>Streams</h2>")
    rows = [(eng, s.keywords, s.misses, f"{s.false_rejection_rate:.1%}", s.false_accepts,
             f"{s.false_accepts_per_hour:.1f}", f"{s.hours * 60:.1f}") for eng, s in ev.per_engine.items()]
    parts.append(_table(rows, ("voices", "keywords", "missed", "false rejections", "false accepts", "per hour",
                               "minutes")))
    d = ev.detector
    parts.append(f"<p>Model every {d.every_frames} frames ({d.every_frames * fe.frame_ms:g} ms), posteriors averaged "
                 f"over {d.smooth} inferences, threshold {d.threshold}, refractory {d.refractory_s} s. "
                 f"C program == Python detector on every stream: <b>{ev.c_exact}</b>.</p>")
    if ev.runs:
        _, stream, srun = ev.runs[0]
        svg = stream_svg(stream.pcm, stream.occurrences, srun.events, labels, fe.hop_samples, fe.window_samples)
        parts.append(f"<figure>{svg}</figure>")
    parts.append(f"<figure>{det_svg(ev.curves, d.threshold)}</figure>")
    parts += _frontend_section(run), _cortexm_section(run), _energy_section(run), "</body></html>"
    return "\n".join(parts)


def _frontend_section(run) -> str:
    f = run.frontend
    rows = [(name, s["clips"], s["c_mismatching_clips"], f"{s['abs_error_mean']:.2e}", f"{s['abs_error_max']:.2e}",
             f"{s['snr_db']:.1f}", f"{s['int8_features_differing']:.2%}", s["int8_max_difference"])
            for name, s in f["splits"].items()]
    return ("<h2>Front end: MFCC, fixed point</h2>" + _table(
        rows, ("split", "clips", "clips where C != numpy", "mean |fixed - float|", "max", "SNR dB",
               "int8 features differing", "max int8 difference")) + f"<p class=est>{html.escape(f['method'])}</p>")


def _cortexm_section(run) -> str:
    c = run.cortexm
    if not c:
        return ""
    if "skipped" in c:
        return f"<h2>Cortex-M</h2><p>{html.escape(c['skipped'])}</p>"
    rows = [("board / core", f"{c['board']} / {c['core']}"), ("flash (whole program)", f"{c['flash_bytes']:,} B"),
            ("RAM (whole program, with stack)", f"{c['ram_bytes']:,} B"),
            ("front end, instructions per 20 ms frame", f"{c['frontend_instructions_per_frame']:,}"),
            ("model + smoother, instructions per inference", f"{c['model_instructions_per_inference']:,}"),
            ("instructions per second of audio", f"{c['instructions_per_second_of_audio']:,.0f}"),
            ("QEMU events == Python events", f"{c['qemu_exact']} ({c['qemu_events']} events, {c['seconds']:g} s)"),
            ("program, build", f"OUT/{c.get('program', 'kws_c')}, {c.get('build', '')}")]
    p = c.get("portable")
    if p:
        rows.append(("the portable program (OUT/kws_c): front end / model per inference / per second",
                     f"{p['frontend_instructions_per_frame']:,} / {p['model_instructions_per_inference']:,} / "
                     f"{p['instructions_per_second_of_audio']:,.0f} ({p['build']}; QEMU == Python: {p['qemu_exact']})"))
    return ("<h2>Cortex-M4 (QEMU)</h2>" + _table(rows, ("measure", "value"))
            + f"<p class=est>{html.escape(c['instructions_method'])}</p>")


def _energy_section(run) -> str:
    if not run.energy or "error" in run.energy:
        return ""
    b = run.energy
    rows = [("duty cycle", f"{b['duty_cycle']:.2%}"), ("average power", f"{b['average_watts'] * 1e6:.4g} uW"),
            (f"lifetime on {b['battery']}", f"{b['lifetime_days']:,.1f} days"),
            ("energy per inference period", f"{b['joules_per_inference'] * 1e6:.4g} uJ")]
    return ("<h2>Listening continuously (estimate)</h2>" + _table(rows, ("measure", "value"))
            + "<p class=est>" + html.escape("; ".join(b["warnings"])) + ". Datasheet constants: docs/energy.md; "
            "`pocketml energy OUT` prints the whole budget.</p>")


def write_report(run, path: str | Path) -> Path:
    return write_atomic(path, render(run))
