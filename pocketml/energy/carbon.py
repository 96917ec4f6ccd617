"""Training emissions with codecarbon, offline (no network), for a region the user names.

    with track_emissions("train", region="FRA") as record:
        train(...)
    record.value  # CarbonRecord(stage, seconds, energy_kwh, kg_co2e, region, method, estimate)

codecarbon's offline tracker multiplies the energy it attributes to the process by the region's
carbon intensity from its bundled tables. Where the machine has no hardware power counters
(no Intel RAPL, no NVML), the CPU figure is TDP x CPU load: the record says ``estimate: True`` and
names that method. The region is an ISO 3166 alpha-3 code (FRA, USA, DEU...), from the argument,
else ``POCKETML_CARBON_REGION``, else USA (always recorded).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from pocketml.errors import PocketMLError

DEFAULT_REGION = "USA"


@dataclass(frozen=True)
class CarbonRecord:
    stage: str
    seconds: float
    energy_kwh: float
    kg_co2e: float
    region: str
    method: str
    estimate: bool

    def to_dict(self) -> dict:
        return asdict(self)


class _Holder:
    value: CarbonRecord | None = None


def carbon_available() -> bool:
    try:
        import codecarbon  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def track_emissions(stage: str, region: str | None = None) -> Iterator[_Holder]:
    """Measure the block with codecarbon's offline tracker; the record is in ``holder.value`` after it."""
    region = (region or os.environ.get("POCKETML_CARBON_REGION") or DEFAULT_REGION).upper()
    try:
        import codecarbon
        from codecarbon import OfflineEmissionsTracker
    except ImportError as exc:
        raise PocketMLError("codecarbon is not installed",
                            "pip install 'pocketml[carbon]' (make test installs it)") from exc
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    try:
        tracker = OfflineEmissionsTracker(country_iso_code=region, log_level="error", save_to_file=False,
                                          measure_power_secs=5, tracking_mode="process")
    except Exception as exc:  # codecarbon rejects unknown country codes with its own exception types
        raise PocketMLError(f"codecarbon cannot use region '{region}': {exc}",
                            "give an ISO 3166 alpha-3 country code such as FRA, DEU, USA, GBR") from exc
    holder = _Holder()
    start = time.perf_counter()
    tracker.start()
    try:
        yield holder
    finally:
        kg = tracker.stop() or 0.0
        data = tracker.final_emissions_data
        modes = {type(h).__name__: getattr(h, "_mode", None) for h in getattr(tracker, "_hardware", [])}
        counters = any(m in ("intel_rapl", "intel_power_gadget", "apple_powermetrics") for m in modes.values()) \
            or "GPU" in modes
        method = (f"codecarbon {codecarbon.__version__} offline, region {region} carbon intensity; "
                  + ("CPU energy from hardware counters" if counters else
                     f"estimate: CPU power = TDP x CPU load (mode {modes.get('CPU')}; no RAPL/NVML power "
                     "counters on this machine), RAM from codecarbon's per-GB model"))
        holder.value = CarbonRecord(stage, time.perf_counter() - start, float(data.energy_consumed),
                                    float(kg), region, method, not counters)


@contextmanager
def maybe_track_emissions(stage: str, region: str | None = None) -> Iterator[_Holder]:
    """``track_emissions`` when codecarbon is installed and ``POCKETML_CARBON`` is not ``off``; else a no-op.

    The holder's ``value`` stays None when nothing was tracked.
    """
    if os.environ.get("POCKETML_CARBON", "").lower() in ("off", "0", "no") or not carbon_available():
        yield _Holder()
        return
    with track_emissions(stage, region) as holder:
        yield holder
