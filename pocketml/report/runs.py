"""Terminal summaries of the runs that are not a model deployment: ``distill``, ``select`` and the
``wildfire`` and ``kws`` applications. Each renders the run's own JSON document (what ``--json`` prints), so
the report layer needs none of their types and the CLI does no formatting of its own."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_distill(doc: dict[str, Any], console: Console) -> None:
    """``pocketml distill``: teacher and student sizes and scores, the int8 ONNX check, latencies."""
    t, s, r, o, lat = doc["teacher"], doc["student"], doc["ratios"], doc["onnx"], doc["latency_ms"]
    console.print(f"teacher {escape(t['name'])}: {t['params']:,} params, accuracy {t['score']:.3f}")
    console.print(f"student {s['layers']}x{s['hidden']}: {s['params']:,} params (1/{r['params']:.1f}), accuracy "
                  f"{s['score']:.3f} = {r['score']:.1%} of the teacher; "
                  + (f"without the teacher {s['score_no_teacher']:.3f}; " if s["score_no_teacher"] is not None else "")
                  + f"bag-of-words {doc['task']['bow_logreg']:.3f}")
    console.print(f"int8 ONNX: {o['int8_bytes']:,} B (float {o['float_bytes']:,} B), agrees with float on "
                  f"{o['int8_agreement']:.1%}, accuracy {o['int8_score']:.3f}")
    console.print(f"batch-1 latency ms: teacher {lat['teacher_torch']['median_ms']:.2f} (torch) / "
                  f"{lat['teacher_onnx']['median_ms']:.2f} (onnx); student {lat['student_torch']['median_ms']:.2f} / "
                  f"{lat['student_onnx']['median_ms']:.2f} / int8 {lat['student_int8']['median_ms']:.2f}: "
                  f"{r['speedup_torch']:.1f}x (torch), {r['speedup_onnx']:.1f}x (onnx)")


def print_selection(doc: dict[str, Any], console: Console) -> None:
    """``pocketml select``: what was kept, the learner's accuracies, and the noise detection if labels were flipped."""
    f, acc = doc["selection"], doc["accuracy"]
    console.print(f"kept {f['n_selected']:,} of {f['n_pool']:,} samples ({100 * f['fraction']:.1f}%, "
                  f"{f['stored_bytes']:,} B) with [bold]{escape(f['strategy'])}[/]; dropped "
                  f"{f['n_dropped_suspects']} suspects")
    console.print(f"{escape(doc['learner'])} test accuracy: selected {acc['selected']:.2%}, same number at random "
                  f"{acc['random_same_size']:.2%}, all {acc['all']:.2%}")
    noise = f.get("noise") or {}
    if noise.get("precision"):
        console.print(f"suspects vs flipped labels: precision {noise['precision']['suspects']:.2f}, "
                      f"recall {noise['recall']['suspects']:.2f}")


def print_station_skill(doc: dict[str, Any], train_fraction: float, console: Console) -> None:
    """``pocketml wildfire evaluate``: MAE per variable and horizon, against persistence and climatology."""
    table = Table(title=escape(f"{doc['station']}: MAE on the last {1 - train_fraction:.0%} "
                               f"({doc['n_test_origins']} origins)"))
    for col in ("variable", "horizon h", "model", "persistence", "climatology"):
        table.add_column(col, justify="right")
    for var, rows in doc["mae"].items():
        for h, row in rows.items():
            table.add_row(var, h, f"{row['model']:.3f}", f"{row['persistence']:.3f}", f"{row['climatology']:.3f}")
    console.print(table)
    for note in doc.get("notes", []):
        console.print(f"note: {escape(note)}")


def print_wildfire_run(scores: dict[str, dict[str, Any]], done_when: dict[str, bool], console: Console) -> None:
    """``pocketml wildfire simulate``: each season's score per method, and the issue's done-when checks."""
    for season, methods in scores.items():
        for method, s in methods.items():
            console.print(f"season {season} {method:12s} recall {s['recall']:.3f}  "
                          f"unnecessary {s['unnecessary_cell_hours']:>8,} cell-h  CSI {s['csi']:.3f}  "
                          f"premature {s['premature_restorations']}  notice {s['notice_median_hours']:.0f} h",
                          highlight=False)
    console.print(f"done-when: {done_when}", markup=False, highlight=False)


def print_kws_data(summary: dict[str, Any], from_cache: bool, cache_file, console: Console) -> None:
    """``pocketml kws data``: clips, speakers and classes per split, the voices, the labels."""
    t = Table(title=f"keyword data ({'cache' if from_cache else 'generated'}: {cache_file})")
    for col in ("split", "clips", "speakers", "per class"):
        t.add_column(col, justify="left" if col == "split" else "right")
    for name, s in summary["splits"].items():
        t.add_row(name, str(s["clips"]), str(s["speakers"]), " ".join(map(str, s["per_class"])))
    console.print(t)
    for split, v in summary["voices"].items():
        console.print(f"{split}: accents {', '.join(v['accents'])}; {len(v['variants'])} variants", highlight=False)
    console.print(f"labels: {', '.join(summary['labels'])}", highlight=False)


def print_kws_run(run, out, console: Console) -> None:
    """``pocketml kws train``: accuracies, stream errors, the C checks and the Cortex-M4 figures."""
    t = Table(title="keyword spotter")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for name, s in run.accuracy.items():
        t.add_row(f"accuracy, {name} ({s.n} clips)", f"{s.accuracy:.2%}")
    for engine, s in run.streams.per_engine.items():
        t.add_row(f"streams, {engine} voices ({s.hours * 60:.1f} min, {s.keywords} keywords)",
                  f"FRR {s.false_rejection_rate:.1%}, {s.false_accepts_per_hour:.1f} FA/h")
    t.add_row("front end C == numpy (clips)",
              f"{run.frontend['c_clips'] - run.frontend['c_mismatching_clips']}/{run.frontend['c_clips']}")
    t.add_row("C program == Python (streams)", str(run.streams.c_exact))
    c = run.cortexm or {}
    if "flash_bytes" in c:
        t.add_row("QEMU Cortex-M4 == Python", str(c["qemu_exact"]))
        t.add_row("front end / model (instructions)",
                  f"{c['frontend_instructions_per_frame']:,} per frame / {c['model_instructions_per_inference']:,} "
                  "per inference")
        t.add_row("instructions per second of audio", f"{c['instructions_per_second_of_audio']:,.0f}")
        t.add_row("flash / RAM (whole program)", f"{c['flash_bytes']:,} / {c['ram_bytes']:,} B")
    if run.energy:
        t.add_row(f"duty cycle, life on {run.energy['battery']} (estimate)",
                  f"{run.energy['duty_cycle']:.1%}, {run.energy['lifetime_days']:,.1f} days")
    console.print(t)
    console.print(f"wrote {out}/report.html, {out}/kws.json, {out}/kws_c/ (`pocketml energy {out}` for the budget)",
                  markup=False, highlight=False)


def print_kws_evaluation(title: str, ev, console: Console) -> None:
    """``pocketml kws evaluate``: accuracy per split and the streams' errors."""
    t = Table(title=title)
    t.add_column("measure")
    t.add_column("value", justify="right")
    for name, s in ev.accuracy.items():
        t.add_row(f"accuracy, {name} ({s.n} clips)", f"{s.accuracy:.2%}")
    if ev.streams is not None:
        for engine, s in ev.streams.per_engine.items():
            t.add_row(f"streams, {engine} ({s.hours * 60:.1f} min, {s.keywords} keywords)",
                      f"FRR {s.false_rejection_rate:.1%}, {s.false_accepts_per_hour:.1f} FA/h")
        t.add_row("C program == Python", str(ev.streams.c_exact))
    console.print(t)


def print_kws_detections(wav_name: str, found, console: Console) -> None:
    """``pocketml kws detect``: every detection (time, keyword, averaged posterior)."""
    t = Table(title=f"{wav_name}: {found.seconds:.1f} s, {found.inferences} inferences, {len(found.events)} detections")
    for col in ("seconds", "keyword", "posterior"):
        t.add_column(col, justify="right")
    for e in found.events:
        t.add_row(f"{e['seconds']:.2f}", e["label"], f"{e['posterior']:.3f}")
    console.print(t)
    if found.c_exact is not None:
        console.print(f"compiled program detects the same: {found.c_exact}", highlight=False)
