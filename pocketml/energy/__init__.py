"""Energy and carbon: what a model costs to run, to talk, how long the battery lasts, and training CO2e.

    energy_budget(device, cycles, method, rate, radio=, battery=)   per inference / per day / lifetime
    budget_for(profile, rate, radio=, battery=)                      the same for a deployed model
    cascade_curve(...), choose_threshold(...)                        answer locally or offload
    offload_cascade(profile, logits, labels, server_preds)           the cascade of a deployed model
    track_emissions(stage, region)                                   codecarbon, offline
Every constant is sourced in docs/energy.md; every output is labelled an estimate. Rendering (tables,
the HTML section, plots) lives in ``pocketml/report/energy.py``.
"""

from pocketml.energy.budget import (
    EnergyBudget,
    InferenceProfile,
    budget_for,
    default_radio,
    energy_budget,
    parse_rate,
)
from pocketml.energy.carbon import CarbonRecord, carbon_available, maybe_track_emissions, track_emissions
from pocketml.energy.cascade import CascadePoint, cascade_curve, choose_threshold, softmax_confidence
from pocketml.energy.offload import CASCADE_RADIOS, OffloadCascade, offload_cascade
from pocketml.energy.radios import RADIOS, Radio, find_radio, lora_time_on_air
from pocketml.energy.storage import BATTERIES, HARVESTERS, Battery, Harvester, find_battery, find_harvester

__all__ = ["BATTERIES", "CASCADE_RADIOS", "HARVESTERS", "RADIOS", "Battery", "CarbonRecord", "CascadePoint",
           "EnergyBudget", "Harvester", "InferenceProfile", "OffloadCascade", "Radio", "budget_for",
           "carbon_available", "cascade_curve", "choose_threshold", "default_radio", "energy_budget",
           "find_battery", "find_harvester", "find_radio", "lora_time_on_air", "maybe_track_emissions",
           "offload_cascade", "parse_rate", "softmax_confidence", "track_emissions"]
