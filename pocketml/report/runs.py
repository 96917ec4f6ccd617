"""Terminal summaries of the runs that are not a model deployment: ``distill``, ``select`` and the
``wildfire`` application. Each renders the run's own JSON document (what ``--json`` prints), so
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
