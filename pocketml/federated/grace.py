"""GraceGrid: stop waiting for a round's missing replies a grace period after the first ones arrive.

A Flower Grid's ``send_and_receive(messages, timeout)`` waits until every reply is in or the fixed
timeout ends. On a real deployment a SuperNode that is killed mid-round never replies, and the
SuperLink only reports it (``NODE_UNAVAILABLE``) once its heartbeats have lapsed — Flower 1.42's
SuperNode heartbeats every ~24 s with a patience of two, so up to a minute later. A fixed timeout
short enough to hide that is too short for a loaded machine, where one ClientApp start (a fresh
process importing torch) can take minutes.

This wrapper scales with the fleet instead: once the first reply of a round has arrived after
``t`` seconds, it waits at most ``max(min_grace, factor · t)`` more seconds for the others, then
returns what it has (the fixed timeout still caps the whole round). A dead node therefore costs
about ``factor`` round-times, however slow the machine. Every other call goes to the wrapped Grid.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flwr.app import Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.run import Run

from pocketml.errors import PocketMLError

POLL_SECONDS = 0.5


class GraceGrid(Grid):
    """Wrap ``grid``; ``send_and_receive`` ends ``max(min_grace, factor · t_first)`` after the first reply."""

    def __init__(self, grid: Grid, factor: float = 2.0, min_grace: float = 10.0) -> None:
        if not (factor > 0 and min_grace >= 0):
            raise PocketMLError(f"grace factor {factor} / minimum {min_grace} s out of range",
                                "pass a positive factor (e.g. 2.0) and a minimum ≥ 0 seconds")
        self.grid = grid
        self.factor = factor
        self.min_grace = min_grace
        self.cut_short: list[int] = []  # replies given up on, per send_and_receive call that cut short

    def set_run(self, run: Run) -> None:
        self.grid.set_run(run)

    @property
    def run(self) -> Run:
        return self.grid.run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return self.grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.grid.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self.grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self.grid.pull_messages(message_ids)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        pending = set(self.grid.push_messages(messages))
        start = time.monotonic()
        end = start + (timeout if timeout is not None else float("inf"))
        replies: list[Message] = []
        while pending and time.monotonic() < end:
            got = list(self.grid.pull_messages(pending))
            if got and not replies:  # first replies: the grace period starts now
                waited = time.monotonic() - start
                end = min(end, time.monotonic() + max(self.min_grace, self.factor * waited))
            replies.extend(got)
            pending.difference_update(m.metadata.reply_to_message_id for m in got)
            if pending:
                time.sleep(POLL_SECONDS)
        if pending:
            self.cut_short.append(len(pending))
        return replies
