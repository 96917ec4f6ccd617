"""Where a device's energy comes from: batteries (a fixed store) and harvesters (a daily income).

Every figure carries its source; docs/energy.md lists them with the arithmetic. Energy of a
battery is taken as capacity x nominal voltage (``joules = mAh / 1000 x V x 3600``): that is the
datasheet's own rating, at its test load, and ignores the voltage sag of pulse loads and
self-discharge (both make real lifetimes shorter; the figures are upper bounds and labelled so).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pocketml.errors import PocketMLError

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Battery:
    id: str
    name: str
    capacity_mah: float
    nominal_v: float
    max_pulse_a: float  # larger current pulses collapse the voltage (radio TX on a coin cell)
    source: str

    @property
    def joules(self) -> float:
        return self.capacity_mah / 1000.0 * self.nominal_v * 3600.0


@dataclass(frozen=True)
class Harvester:
    """A harvester's average daily energy delivered to the load (after its converter)."""

    id: str
    name: str
    joules_per_day: float
    derivation: str
    source: str


BATTERIES = {
    "cr2032": Battery(
        "cr2032", "CR2032 lithium coin cell (Li/MnO2)", 235.0, 3.0, 0.015,
        "Energizer CR2032 product datasheet: nominal capacity 235 mAh (continuous 15 kohm load to 2.0 V at "
        "21 degC), nominal voltage 3.0 V; IEC 60086 CR2032: 3.0 V, typical 225 mAh; maximum pulse current "
        "about 15 mA (manufacturer datasheets, e.g. Energizer / Panasonic CR2032; not re-verified in this session)"),
    "2xaa": Battery(
        "2xaa", "2 x AA alkaline in series (Zn/MnO2)", 2850.0, 3.0, 1.0,
        "Energizer E91 (AA alkaline) product datasheet: about 2850 mAh to 0.8 V at a 25 mA continuous load, "
        "21 degC, nominal 1.5 V per cell (2 in series: 3.0 V); not re-verified in this session. The mean "
        "voltage under load is nearer 1.25 V per cell, so capacity x nominal V overstates the energy by ~20%"),
}


def _solar(area_cm2: float, kwh_per_m2_day: float, efficiency: float, converter: float) -> float:
    return area_cm2 * 1e-4 * kwh_per_m2_day * 3.6e6 * efficiency * converter


def _friis_rf(eirp_w: float, freq_hz: float, distance_m: float, rx_gain: float, efficiency: float) -> float:
    wavelength = 299_792_458.0 / freq_hz
    received_w = eirp_w * rx_gain * (wavelength / (4 * 3.141592653589793 * distance_m)) ** 2
    return received_w * efficiency * SECONDS_PER_DAY


HARVESTERS = {
    "solar-outdoor": Harvester(
        "solar-outdoor", "5 cm^2 crystalline-silicon cell outdoors",
        _solar(5.0, 3.0, 0.15, 0.8),
        "5 cm^2 x 3.0 kWh/m^2/day x 15% cell efficiency x 80% charger efficiency = 648 J/day",
        "3.0 kWh/m^2/day: annual mean global horizontal irradiation of mid-latitude Europe (PVGIS, EU JRC "
        "Photovoltaic Geographical Information System maps; 2.5-3.5 in central Europe); 15%: a low-cost "
        "polycrystalline cell; 80%: a boost charger such as TI BQ25570 (datasheet: 'up to 80% efficient' "
        "charge path) - cell and charger figures are assumptions of this model"),
    "solar-indoor": Harvester(
        "solar-indoor", "5 cm^2 amorphous-silicon cell indoors (office light)",
        5.0 * 10e-6 * 8 * 3600 * 0.8,
        "5 cm^2 x 10 uW/cm^2 (200-500 lux office light) x 8 h of light a day x 80% charger = 1.15 J/day",
        "about 10 uW/cm^2 from amorphous-silicon indoor cells at 200-500 lux (Panasonic Amorton indoor solar "
        "cell catalogue, e.g. AM-1815: tens of uW at 200 lx for 28 cm^2; not re-verified in this session); "
        "8 h of light and 80% charger efficiency are assumptions"),
    "rf-3m": Harvester(
        "rf-3m", "RF harvester 3 m from a dedicated 3 W EIRP 915 MHz transmitter",
        _friis_rf(3.0, 915e6, 3.0, 1.0, 0.5),
        "Friis: 3 W x (lambda / (4 pi 3 m))^2 with lambda = 0.328 m = 227 uW received, x 50% RF-to-DC "
        "efficiency = 114 uW = 9.8 J/day (continuous transmitter)",
        "Powercast TX91501 powercaster (3 W EIRP, 915 MHz) and P2110B harvester (datasheet: RF-to-DC "
        "efficiency about 50% near -5 dBm input; not re-verified in this session); Friis transmission "
        "equation, isotropic receive antenna"),
}


def find_battery(battery_id: str) -> Battery:
    return _find(battery_id.lower(), BATTERIES, "battery")


def find_harvester(harvester_id: str) -> Harvester:
    return _find(harvester_id.lower(), HARVESTERS, "harvester")


def _find(key: str, table: dict, what: str):
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=2, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PocketMLError(f"unknown {what} '{key}'", f"{hint}known: {', '.join(table)}")
