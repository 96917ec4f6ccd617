"""Model ↔ hardware matchmaking: search model shapes for the most accurate one that fits a board."""

from pocketml.search.cost import Budget, CandidateCost, measure_cost
from pocketml.search.match import FAMILIES, TASKS, Candidate, ChosenModel, MatchResult, match
from pocketml.search.space import BITS, Architecture, build
from pocketml.search.trees import TreeArchitecture

__all__ = ["BITS", "FAMILIES", "TASKS", "Architecture", "Budget", "Candidate", "CandidateCost", "ChosenModel",
           "MatchResult", "TreeArchitecture", "build", "match", "measure_cost"]
