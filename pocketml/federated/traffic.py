"""CountingGrid: count a Grid's wire bytes per round, as ``LocalFleet`` does, around any Flower Grid.

``LocalFleet`` counts the bytes of every message it delivers. When the transport is Flower's own
(the simulation runtime's in-memory Grid, with ClientApps in Ray actors), this wrapper counts the
same way (``records.wire_bytes`` of each message pushed and each reply pulled) into the same
``RoundTraffic`` records, so a ``FederatedResult`` reads alike whichever backend ran.

Sampling: Flower's strategies sample with the global ``random`` module, which ``LocalFleet`` seeds
and nothing else in its process draws from between rounds; here Ray and Flower's runtime run in the
same process and may draw from it too. So the grid keeps the sampling stream apart: seeded with the
run's seed, swapped in when the strategy asks for the node ids and swapped out at its next call.

Node order: Flower's in-memory LinkState returns the node ids as a set of random 64-bit ids, so a
seeded strategy (which samples with ``random.sample`` over that list) would pick different clients
each run. The simulation runtime registers SuperNode ``i`` as partition ``i``, and the LinkState
keeps nodes in registration order, so ``get_node_ids`` lists them in that order: the same seed
samples the same partitions as ``LocalFleet`` (whose node ``i + 1`` is partition ``i``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from flwr.app import Message, MessageType, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.constant import NodeStatus
from flwr.supercore.run import Run

from pocketml.federated.fleet import RoundTraffic
from pocketml.federated.records import wire_bytes

POLL_SECONDS = 0.05


class CountingGrid(Grid):
    """Wrap ``grid``; ``traffic`` gets one ``RoundTraffic`` per ``send_and_receive`` (train rounds > 0,
    evaluation rounds < 0, as ``LocalFleet`` numbers them).

    ``expect_nodes``: the first ``get_node_ids`` waits (up to ``wait_s``) until that many nodes are
    online. Flower's simulation runtime registers its virtual SuperNodes while the ServerApp already
    runs; without the wait the first round of a 10,000-node fleet samples from the few thousand
    registered so far."""

    def __init__(self, grid: Grid, expect_nodes: int = 0, wait_s: float = 600.0, seed: int = 0) -> None:
        self.grid = grid
        self.expect_nodes, self.wait_s = expect_nodes, wait_s
        self._sampling = random.Random(seed).getstate()  # the stream the strategy samples nodes from
        self._outside: tuple | None = None  # the process's own `random` state while the strategy samples
        self.traffic: list[RoundTraffic] = []
        self._round = 1

    def _sampled(self) -> None:
        """The strategy has sampled (it calls the grid again): keep its stream, give `random` back."""
        if self._outside is not None:
            self._sampling = random.getstate()
            random.setstate(self._outside)
            self._outside = None

    def set_run(self, run: Run) -> None:
        self.grid.set_run(run)

    @property
    def run(self) -> Run:
        return self.grid.run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        self._sampled()
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        ids = set(self.grid.get_node_ids())
        deadline = time.monotonic() + self.wait_s
        while len(ids) < self.expect_nodes and time.monotonic() < deadline:  # the runtime still registers nodes
            time.sleep(POLL_SECONDS)
            ids = set(self.grid.get_node_ids())
        self.expect_nodes = 0  # once: later rounds see the fleet as it is
        if self._outside is None:  # the strategy samples next, with `random`: from its own stream
            self._outside = random.getstate()
            random.setstate(self._sampling)
        state = getattr(self.grid, "state", None)  # Flower's in-memory LinkState: registration order
        if state is None or not hasattr(state, "get_node_info"):
            return sorted(ids)
        return [n.node_id for n in state.get_node_info(statuses=[NodeStatus.ONLINE]) if n.node_id in ids]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        self._sampled()
        return self.grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        self._sampled()
        return self.grid.pull_messages(message_ids)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        self._sampled()
        messages = list(messages)
        if not messages:
            return []
        is_train = messages[0].metadata.message_type == MessageType.TRAIN
        traffic = RoundTraffic(self._round if is_train else -self._round,
                               online=len(list(self.grid.get_node_ids())), sampled=len(messages))
        pending = set(self.grid.push_messages(messages))
        traffic.bytes_down = sum(wire_bytes(m) for m in messages)  # after the push set their metadata
        end = time.monotonic() + (timeout if timeout is not None else float("inf"))
        replies: list[Message] = []
        while pending and time.monotonic() < end:
            got = list(self.grid.pull_messages(pending))
            for reply in got:
                traffic.bytes_up += wire_bytes(reply)
                traffic.failed += reply.has_error()
            replies.extend(got)
            pending.difference_update(m.metadata.reply_to_message_id for m in got)
            if pending:
                time.sleep(POLL_SECONDS)
        traffic.replied, traffic.late = len(replies), len(pending)  # failed replies count as replied, as in LocalFleet
        self.traffic.append(traffic)
        if is_train:
            self._round += 1
        return replies
