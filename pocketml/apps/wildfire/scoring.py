"""Scores of shutoff decisions against the fire weather that happened, cell-hour by cell-hour.

* **recall**: hazardous cell-hours that were de-energized / all hazardous cell-hours;
* **unnecessary**: de-energized cell-hours without fire weather (the cost to customers);
* **CSI** (critical success index): hits / (hits + misses + unnecessary);
* **premature restorations**: a cell restored at hour ``j`` with fire weather in that cell within
  ``j .. j + 5`` (restored, then hazardous again within 6 h: the Santa Paula failure);
* **notice lead time**: for every onset of fire weather in a cell (first hazardous hour after a
  clear one), the hours between the first forecast (within 48 h before) whose probability for the
  onset hour reached the rule's threshold, and the onset; 0 when no forecast gave notice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PREMATURE_WINDOW = 6


@dataclass(frozen=True)
class Score:
    """Figures for one decision method over a scored span (cell-hours)."""

    recall: float
    hazardous_cell_hours: int
    covered_cell_hours: int
    unnecessary_cell_hours: int
    shutoff_cell_hours: int
    csi: float
    premature_restorations: int
    restorations: int
    onsets: int
    notice_median_hours: float
    notice_mean_hours: float
    onsets_with_notice: float  # fraction of onsets with any notice (> 0 h)

    def to_dict(self) -> dict:
        return asdict(self)


def score(
    shut: np.ndarray,
    hazard: np.ndarray,
    prob: np.ndarray | None = None,
    on_threshold: float | None = None,
    restore_tail: np.ndarray | None = None,
    premature_window: int = PREMATURE_WINDOW,
) -> Score:
    """Score ``shut`` against ``hazard`` (both ``[hours, cells]``, the same hours).

    ``prob`` (``[hours, cells, horizon]``: the forecast issued at the hour *before* each scored hour)
    and ``on_threshold`` give the notice lead times. ``restore_tail`` (``[6, cells]``, the fire
    weather in the hours after the span) lets restorations near the end be judged.
    ``premature_window`` (default 6 h) is how soon after a restoration fire weather makes it premature.
    """
    shut, hazard = np.asarray(shut, bool), np.asarray(hazard, bool)
    hits = int((shut & hazard).sum())
    n_haz = int(hazard.sum())
    unnecessary = int((shut & ~hazard).sum())
    misses = n_haz - hits
    tail = (
        np.zeros((premature_window, hazard.shape[1]), bool) if restore_tail is None else np.asarray(restore_tail, bool)
    )
    ext = np.concatenate([hazard, tail], 0)
    restored = np.argwhere(shut[:-1] & ~shut[1:])  # restored at hour j = row + 1
    premature = sum(int(ext[j + 1 : j + 1 + premature_window, c].any()) for j, c in restored)

    leads: list[int] = []
    onsets = np.argwhere(hazard[1:] & ~hazard[:-1])
    for s_minus_1, c in onsets:
        s = s_minus_1 + 1
        lead = 0
        if prob is not None and on_threshold is not None:
            horizon = prob.shape[2]
            # the forecast used for hour s is prob[s] (issued at s - 1, h = 1); for s - k: prob[s - k + 1, h = k]
            for k in range(horizon, 0, -1):
                row = s - k + 1
                if 0 <= row < len(prob) and prob[row, c, k - 1] >= on_threshold:
                    lead = k
                    break
        leads.append(lead)
    leads_arr = np.array(leads, float)
    return Score(
        recall=hits / n_haz if n_haz else 1.0,
        hazardous_cell_hours=n_haz,
        covered_cell_hours=hits,
        unnecessary_cell_hours=unnecessary,
        shutoff_cell_hours=int(shut.sum()),
        csi=hits / (hits + misses + unnecessary) if hits + misses + unnecessary else 1.0,
        premature_restorations=int(premature),
        restorations=len(restored),
        onsets=len(leads),
        notice_median_hours=float(np.median(leads_arr)) if len(leads) else 0.0,
        notice_mean_hours=float(leads_arr.mean()) if len(leads) else 0.0,
        onsets_with_notice=float((leads_arr > 0).mean()) if len(leads) else 0.0,
    )
