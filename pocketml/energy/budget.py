"""The energy budget of a deployed model: per inference, per message, per day, and the battery's life.

    t_inf  = cycles / clock                       cycles: the model's one estimate (devices/cost.py: the
                                                  QEMU instruction count when it ran, else the MAC model)
    E_inf  = P_active x t_inf                     P_active: the board's catalogue figure at its clock
    E_msg  = radio.message_joules(bytes sent per message)
    P_avg  = (E_inf + m x E_msg) x rate + P_sleep x (1 - rate x t_inf) + P_radio_idle
             m = messages per inference (1: every result is sent; a keyword spotter sends only detections)
    duty   = rate x t_inf                         the share of time the core is awake
    life   = E_battery / P_avg                    (seconds; / 86 400 for days)
    daily  = P_avg x 86 400 J, compared with each harvester's J/day

Everything here is an estimate from datasheet constants (docs/energy.md), labelled as such in
every output. ``EnergyBudget.to_dict()`` names each unit in its key (``_j``, ``_w``, ``_days``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from pocketml.devices.device import Device
from pocketml.energy.radios import RADIOS, Radio, find_radio
from pocketml.energy.storage import HARVESTERS, SECONDS_PER_DAY, Battery, find_battery
from pocketml.errors import PocketMLError

# Sanity band: MLPerf Tiny's keyword-spotting DS-CNN (TFLite Micro reference) on a Cortex-M4 board.
MLPERF_KWS_JOULES = 7e-3
MLPERF_KWS_MACS = 2.7e6
MLPERF_SOURCE = ("MLPerf Tiny Inference v0.5 results (MLCommons, 2021), reference submission: keyword spotting "
                 "DS-CNN with TFLite Micro on a Cortex-M4 board, about 7 mJ per inference (figure quoted in "
                 "pocketml issue 8; not re-verified in this session); DS-CNN size 5.4 M operations = 2.7 M MACs "
                 "(Zhang et al., 'Hello Edge: Keyword Spotting on Microcontrollers', 2017, DS-CNN S)")
BAND = 10.0  # a figure within 10x of the reference energy per MAC is called plausible

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0,
          "d": SECONDS_PER_DAY, "day": SECONDS_PER_DAY}


def parse_rate(text: str | float) -> float:
    """Inferences per second from '1/min', '10/h', '0.5/s', '2/day' (or a number, already per second)."""
    if isinstance(text, (int, float)):
        rate = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(?:/\s*([a-z]+?)s?)?\s*", str(text).lower())
        if m is None or (m.group(2) and m.group(2) not in _UNITS):
            raise PocketMLError(f"cannot read the rate '{text}'",
                                "write it as COUNT/UNIT with UNIT one of s, min, h, day (e.g. 1/min, 10/h)")
        rate = float(m.group(1)) / _UNITS[m.group(2) or "s"]
    if not rate > 0:
        raise PocketMLError(f"the rate must be positive, got {text!r}", "give at least one inference per period")
    return rate


@dataclass(frozen=True)
class EnergyBudget:
    """The budget for one board, model, rate, radio and battery; all figures are estimates."""

    device_id: str
    rate_hz: float
    cycles_per_inference: float
    cycles_method: str
    seconds_per_inference: float
    active_watts: float
    sleep_watts: float
    joules_per_inference: float
    radio: str
    bytes_per_message: int
    joules_per_message: float
    radio_idle_watts: float
    average_watts: float
    battery: str
    battery_joules: float
    lifetime_days: float
    daily_joules: float
    harvest: list[dict[str, Any]] = field(default_factory=list)
    send_vs_compute: list[dict[str, Any]] = field(default_factory=list)
    sanity: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    messages_per_inference: float = 1.0
    workload: dict[str, Any] = field(default_factory=dict)  # e.g. a streaming program's schedule

    @property
    def duty_cycle(self) -> float:
        """Share of the time the core is running (rate x time per inference)."""
        return self.rate_hz * self.seconds_per_inference

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": True,
            "device": self.device_id,
            "rate_per_second": self.rate_hz,
            "cycles_per_inference": round(self.cycles_per_inference),
            "cycles_method": self.cycles_method,
            "seconds_per_inference": self.seconds_per_inference,
            "active_watts": self.active_watts,
            "sleep_watts": self.sleep_watts,
            "joules_per_inference": self.joules_per_inference,
            "radio": self.radio,
            "bytes_per_message": self.bytes_per_message,
            "joules_per_message": self.joules_per_message,
            "radio_idle_watts": self.radio_idle_watts,
            "average_watts": self.average_watts,
            "battery": self.battery,
            "battery_joules": self.battery_joules,
            "battery_wh": self.battery_joules / 3600.0,
            "lifetime_days": self.lifetime_days,
            "daily_joules": self.daily_joules,
            "daily_wh": self.daily_joules / 3600.0,
            "harvest": self.harvest,
            "send_vs_compute": self.send_vs_compute,
            "sanity": self.sanity,
            "warnings": self.warnings,
            "messages_per_inference": self.messages_per_inference,
            "duty_cycle": self.duty_cycle,
            "workload": self.workload,
            "sources": "docs/energy.md",
        }


@dataclass(frozen=True)
class InferenceProfile:
    """What the energy budget needs to know of a deployed model, whatever it came from.

    Built by ``Result.profile()`` (the pipeline, in memory) or ``result.profile_from_json`` (an OUT
    folder's result.json): the energy floor never reads the top's file format.

    A program that runs on a fixed schedule (a keyword spotter listening continuously) sets
    ``rate_hz`` (its inferences per second: the budget's rate), ``messages_per_inference`` (the
    share of inferences whose result is sent: its detections) and ``workload`` (what one
    "inference" stands for, recorded in the budget).
    """

    device: Device
    cycles: float  # per inference: the deployed model's one estimate (devices/cost.py)
    cycles_method: str
    raw_bytes: int  # the input one inference consumes (what sending the raw data would cost)
    result_bytes: int  # sent after every inference: every output, one byte each
    update_bytes: int  # a model update (the int8 weights), for the federated comparison
    macs: int
    rate_hz: float | None = None
    messages_per_inference: float = 1.0
    workload: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # added to the budget's warnings (what the figures leave out)


def default_radio(device: Device) -> str:
    """The board's own radio if pocketml models it (ble, lora, nbiot, wifi), else BLE."""
    return next((r for r in device.radios if r in RADIOS), "ble")


def budget_for(profile: InferenceProfile, rate: str | float | None = None, *, radio: str | None = None,
               battery: str = "cr2032") -> EnergyBudget:
    """:func:`energy_budget` of a deployed model (its board's own radio by default).

    ``rate`` defaults to 1/min, or to the profile's own schedule (``rate_hz``), which another rate
    may not replace.
    """
    if profile.rate_hz is not None:
        if rate is not None and abs(parse_rate(rate) - profile.rate_hz) > 1e-9 * profile.rate_hz:
            raise PocketMLError(f"this program listens continuously: it runs {profile.rate_hz:g} inferences per "
                                f"second on its own schedule, not {rate}",
                                "leave the rate out, or rebuild the program with another schedule "
                                "(e.g. `pocketml kws train --every`)")
        rate = profile.rate_hz
    budget = energy_budget(profile.device, profile.cycles, profile.cycles_method, "1/min" if rate is None else rate,
                           radio=radio or default_radio(profile.device), battery=battery,
                           result_bytes=profile.result_bytes, raw_bytes=profile.raw_bytes,
                           update_bytes=profile.update_bytes, macs=profile.macs,
                           messages_per_inference=profile.messages_per_inference, workload=profile.workload)
    return replace(budget, warnings=[*budget.warnings, *profile.notes]) if profile.notes else budget


def energy_budget(device: Device, cycles: float, cycles_method: str, rate: str | float, *,
                  radio: str | Radio = "ble", battery: str | Battery = "cr2032", result_bytes: int = 1,
                  raw_bytes: int | None = None, update_bytes: int | None = None,
                  macs: int | None = None, messages_per_inference: float = 1.0,
                  workload: dict[str, Any] | None = None) -> EnergyBudget:
    """Energy per inference, per day and the battery's lifetime at ``rate`` (see the module docstring).

    ``result_bytes`` are sent over ``radio``, ``messages_per_inference`` times per inference (1: after
    every one); ``raw_bytes`` (the sensor data an inference consumes) and ``update_bytes`` (a federated
    model update) only feed the send-vs-compute comparison. ``macs`` enables the MLPerf Tiny sanity
    band. ``workload`` is recorded as given (what one "inference" stands for).
    """
    rate_hz = parse_rate(rate)
    link = radio if isinstance(radio, Radio) else find_radio(radio)
    cell = battery if isinstance(battery, Battery) else find_battery(battery)
    if not cycles > 0:
        raise PocketMLError(f"cycles per inference must be positive, got {cycles}", "pass the measured count")
    if not 0.0 <= messages_per_inference <= 1.0:
        raise PocketMLError(f"messages per inference must be in [0, 1], got {messages_per_inference}",
                            "pass the share of inferences whose result is sent")
    t_inf = cycles / (device.clock_mhz * 1e6)
    period = 1.0 / rate_hz
    t_msg = link.message_seconds(result_bytes) * messages_per_inference
    if t_inf + t_msg > period:
        raise PocketMLError(
            f"{rate if isinstance(rate, str) else f'{rate_hz:.4g} inferences per second'} is faster than "
            f"{device.name} can go: one inference takes {t_inf * 1e3:.1f} ms and sending "
            f"its result {t_msg * 1e3:.1f} ms, longer than the {period * 1e3:.1f} ms between inferences",
            f"use a rate below {1.0 / (t_inf + t_msg):.4g} per second, a faster board or a smaller model")
    active_w, sleep_w = device.active_mw / 1e3, device.sleep_mw / 1e3
    e_inf = active_w * t_inf
    e_msg = link.message_joules(result_bytes)
    avg_w = (e_inf + messages_per_inference * e_msg) * rate_hz + sleep_w * (1.0 - rate_hz * t_inf) + link.idle_w
    daily = avg_w * SECONDS_PER_DAY
    warnings = []
    if link.peak_a > cell.max_pulse_a:
        warnings.append(f"{link.id} draws {link.peak_a * 1e3:.0f} mA peaks, above the {cell.name}'s "
                        f"~{cell.max_pulse_a * 1e3:.0f} mA pulse limit: add a buffer capacitor or pick another battery")
    harvest = [{"harvester": h.id, "name": h.name, "joules_per_day": h.joules_per_day,
                "sustains": h.joules_per_day >= daily, "margin": h.joules_per_day / daily,
                "derivation": h.derivation} for h in HARVESTERS.values()]
    compare = []
    if raw_bytes is not None:
        for r in RADIOS.values():
            row = {"radio": r.id, "raw_bytes": raw_bytes, "send_raw_j": r.message_joules(raw_bytes),
                   "result_bytes": result_bytes, "compute_and_send_result_j": e_inf + r.message_joules(result_bytes)}
            row["local_wins"] = row["compute_and_send_result_j"] < row["send_raw_j"]
            row["ratio_raw_over_local"] = row["send_raw_j"] / row["compute_and_send_result_j"]
            if update_bytes is not None:
                row["update_bytes"], row["send_update_j"] = update_bytes, r.message_joules(update_bytes)
            compare.append(row)
    sanity = {}
    if macs:
        ref = MLPERF_KWS_JOULES / MLPERF_KWS_MACS
        ours = e_inf / macs
        sanity = {"nanojoules_per_mac": ours * 1e9, "reference_nanojoules_per_mac": ref * 1e9,
                  "ratio": ours / ref, "plausible": 1 / BAND <= ours / ref <= BAND, "reference": MLPERF_SOURCE}
    return EnergyBudget(
        device_id=device.id, rate_hz=rate_hz, cycles_per_inference=cycles, cycles_method=cycles_method,
        seconds_per_inference=t_inf, active_watts=active_w, sleep_watts=sleep_w, joules_per_inference=e_inf,
        radio=link.id, bytes_per_message=result_bytes, joules_per_message=e_msg, radio_idle_watts=link.idle_w,
        average_watts=avg_w, battery=cell.id, battery_joules=cell.joules,
        lifetime_days=cell.joules / avg_w / SECONDS_PER_DAY, daily_joules=daily,
        harvest=harvest, send_vs_compute=compare, sanity=sanity, warnings=warnings,
        messages_per_inference=messages_per_inference, workload=dict(workload or {}))
