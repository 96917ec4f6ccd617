"""Wildfire Public Safety Power Shutoff forecasting, cell by cell (pocketml's flagship application).

    region = generate_region(seed=0)                       # synthetic region, 210 cells, 3 years
    record = load_station("725300.isd", "isd-lite")        # or "tmy3", or "csv" with a column map
    skill = evaluate_station(record)                       # cell model MAE vs persistence/climatology
    run = simulate(SimulateSettings(), out="out/wildfire")  # the whole region pipeline, scored

Modules: ``region`` (generator), ``stations`` (file loaders), ``hazard`` (criteria, Fosberg),
``cell_model`` (station forecaster + shrink), ``regional_model`` (GRU over the region),
``shutoff`` (decision rule, baselines), ``scoring``, ``evaluate``, ``psps`` (pipeline), ``figure``.
"""

from pocketml.apps.wildfire.cell_model import CellForecaster, shrink_cell_model
from pocketml.apps.wildfire.evaluate import StationSkill, evaluate_station
from pocketml.apps.wildfire.hazard import HazardCriteria, fosberg_index, hazard, region_hazard
from pocketml.apps.wildfire.psps import PspsRun, SimulateSettings, Spans, simulate, small_settings
from pocketml.apps.wildfire.region import Region, generate_region
from pocketml.apps.wildfire.regional_model import RegionalHazardModel
from pocketml.apps.wildfire.scoring import Score, score
from pocketml.apps.wildfire.shutoff import ShutoffRule, decide
from pocketml.apps.wildfire.stations import StationRecord, load_station

__all__ = [
    "CellForecaster",
    "HazardCriteria",
    "PspsRun",
    "Region",
    "RegionalHazardModel",
    "Score",
    "ShutoffRule",
    "SimulateSettings",
    "Spans",
    "StationRecord",
    "StationSkill",
    "decide",
    "evaluate_station",
    "fosberg_index",
    "generate_region",
    "hazard",
    "load_station",
    "region_hazard",
    "score",
    "shrink_cell_model",
    "simulate",
    "small_settings",
]
