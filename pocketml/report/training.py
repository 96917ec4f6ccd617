"""The on-device training section of report.html: what trains, the memory it needs, the checks."""

from __future__ import annotations

import html
from typing import Any

from pocketml.report.svg import figure_svg

ROLE_COLOURS = {"forward": "#9ecae1", "kept activation": "#fdae6b", "gradient": "#d62728", "logits": "#31a354"}


def training_plan_chart(memory: dict[str, Any]) -> str:
    """The training arena over the step timeline: each box a buffer's place and lifetime, coloured by role."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    for b in memory["buffers"]:
        ax.add_patch(plt.Rectangle((b["first_step"] - 0.4, b["offset"]), b["last_step"] - b["first_step"] + 0.8,
                                   b["size"], alpha=0.7, edgecolor="k", facecolor=ROLE_COLOURS[b["role"]]))
    for role, colour in ROLE_COLOURS.items():
        ax.bar(0, 0, color=colour, label=role)
    steps = memory["steps"]
    ax.set_xticks(range(len(steps)), steps, rotation=30, fontsize=7)
    ax.set_xlim(-0.6, len(steps) - 0.4)
    ax.set_ylim(0, max(memory["arena_bytes"], 1) * 1.15)
    ax.axhline(memory["arena_bytes"], color="k", ls="--", lw=1)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title("training step memory plan (forward, head, backward)")
    ax.legend(fontsize=7, loc="upper left")
    return figure_svg(fig)


def training_section_html(t: dict[str, Any] | None) -> str:
    """An HTML fragment for ``result.json["training"]``; empty without one."""
    if not t:
        return ""
    e = html.escape
    m = t["memory"]
    rows = [("trainable", t["trainable"]), ("classifier", f"{t['head']} {t['head_shape'][0]}x{t['head_shape'][1]}, "
                                             f"weights {'train' if t['head_weights_train'] else 'frozen'} (float32)"),
            ("int32 biases trained", ", ".join(t["bias_layers"]) or "none"),
            ("backward chain", " ← ".join(t["backward_chain"]) or "none (the classifier only)"),
            ("trainable values", f"{t['trainable_values']:,} (float32 each on export)"),
            ("training arena", f"{m['arena_bytes']:,} B (forward pass alone {m['forward_arena_bytes']:,} B)"),
            ("kept for the backward pass", f"{m['kept_activation_bytes']:,} B int8"),
            ("gradients / logits", f"{m['gradient_bytes']:,} B / {m['logits_bytes']:,} B float32 (before sharing)"),
            ("weight gradients, optimizer state", "0 B (fused into the update; plain SGD)"),
            ("trainable part in RAM", f"{m['trainable_bytes']:,} B")]
    cm = t.get("cortexm")
    if cm:
        inf = cm.get("inference_ram_bytes")
        rows += [(f"RAM on {cm['core']} (measured)", f"{cm['ram_bytes']:,} B training program"
                  + (f" vs {inf:,} B inference only ({cm['ram_bytes'] / inf:.2f}x)" if inf else "")),
                 ("flash (measured)", f"{cm['flash_bytes']:,} B"),
                 ("frozen layers' kernels", f"{cm.get('kernels', 'portable')} ({cm.get('opt', '-Os')})"),
                 ("instructions per train step", "n/a" if cm["instructions_per_step"] is None
                  else f"{cm['instructions_per_step']:,} (QEMU, not cycles)")]
    checks = "; ".join(f"{c['runtime']}: {c['batches'] - c['mismatching_batches']}/{c['batches']} batches of "
                       f"{c['samples']} samples bit-exact" for c in t["check"])
    rows.append(("C update = numpy reference", checks))
    table = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in rows)
    notes = "".join(f"<li>{e(n)}</li>" for n in t.get("notes", []))
    return (f"<h2>On-device training</h2><p>{e(', '.join(t['entry_points']))} in <code>c/train.c</code> "
            f"(the board's build beside its model.c): one SGD step per labelled sample, the int8 body frozen "
            f"and run by the deployed kernels (docs/ondevice.md).</p>"
            f"<table>{table}</table>{f'<ul>{notes}</ul>' if notes else ''}"
            f"<figure>{training_plan_chart(m)}</figure>")
