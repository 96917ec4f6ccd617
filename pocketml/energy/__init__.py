"""Energy and carbon: what a model costs to run, to talk, how long the battery lasts, and training CO2e.

    energy_budget(device, cycles, method, rate, radio=, battery=)   per inference / per day / lifetime
    budget_from_result(result_json_dict, rate=, radio=, battery=)   the same for a shrink output
    cascade_curve(...), choose_threshold(...)                        answer locally or offload
    offload_cascade(result_json_dict, logits, labels, server_preds)  the cascade of a shrink output
    track_emissions(stage, region)                                   codecarbon, offline
Every constant is sourced in docs/energy.md; every output is labelled an estimate.
"""

from pocketml.energy.budget import EnergyBudget, energy_budget, inference_cycles, parse_rate
from pocketml.energy.carbon import CarbonRecord, carbon_available, maybe_track_emissions, track_emissions
from pocketml.energy.cascade import CascadePoint, cascade_curve, choose_threshold, softmax_confidence
from pocketml.energy.radios import RADIOS, Radio, find_radio, lora_time_on_air
from pocketml.energy.report import (
    CASCADE_RADIOS,
    OffloadCascade,
    budget_from_result,
    energy_for_output,
    energy_section_html,
    offload_cascade,
    read_result,
)
from pocketml.energy.storage import BATTERIES, HARVESTERS, Battery, Harvester, find_battery, find_harvester

__all__ = ["BATTERIES", "CASCADE_RADIOS", "HARVESTERS", "RADIOS", "Battery", "CarbonRecord", "CascadePoint",
           "EnergyBudget", "Harvester", "OffloadCascade", "Radio", "budget_from_result", "carbon_available",
           "cascade_curve", "choose_threshold", "energy_budget", "energy_for_output", "energy_section_html",
           "find_battery", "find_harvester", "find_radio", "inference_cycles", "lora_time_on_air",
           "maybe_track_emissions", "offload_cascade", "parse_rate", "read_result", "softmax_confidence",
           "track_emissions"]
