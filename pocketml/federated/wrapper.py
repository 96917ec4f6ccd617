"""``StrategyWrapper``: a Flower ``Strategy`` around another one that changes only the train round.

The update gate (``strategies.UpdateGate``: decode, check) and the norm bound (``robust.NormBound``)
each sit in front of a Flower aggregation rule. They override ``configure_train`` and
``aggregate_train``; evaluation and the summary pass straight through to the wrapped strategy.
"""

from __future__ import annotations

from collections.abc import Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy


class StrategyWrapper(Strategy):
    """Delegates evaluation and ``summary`` to ``strategy``; subclasses define the train round."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def summary(self) -> None:
        self.strategy.summary()

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)
