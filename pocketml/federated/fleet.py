"""An in-process fleet: a Flower Grid that delivers messages to ClientApps in this process.

The ServerApp, the strategies and the ClientApp are Flower's Message API objects, unchanged; only
the transport is local. Every message is still deflated exactly as Flower serializes it for the
wire, and its bytes are counted on the link it travels (down: server → client, up: client →
server). Each virtual SuperNode keeps its own ``Context`` (so ``context.state`` persists across
rounds, as on a real SuperNode).

Fleet realism (``FleetProfile``), in simulated time — one round is one hour of the day:

* ``online_hours``  each device is online (charging, idle, on Wi-Fi) for that many hours a day,
                    its window starting at a seeded random hour; offline devices are not sampled;
* ``dropout``       probability that a sampled device vanishes mid-round (no reply);
* ``stragglers``    share of devices 10x slower than the rest; replies slower than
                    ``round_timeout`` simulated seconds are discarded as late.

Why not ``flwr.simulation.run_simulation``: in Flower 1.42 it runs ClientApps in Ray actors; on a
2-core machine Ray's start-up and per-actor torch import cost more than the whole digits run, and
the Message API objects are the same either way. The real-deployment test runs the same apps on
``flower-superlink`` / ``flower-supernode``.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from logging import WARNING

import numpy as np
from flwr.app import Context, Error, Message, MessageType, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.serverapp import Grid
from flwr.supercore import log
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from pocketml.errors import PocketMLError
from pocketml.federated.records import wire_bytes, wire_copy

SERVER_NODE_ID = SUPERLINK_NODE_ID
STRAGGLER_SLOWDOWN = 10.0


@dataclass(frozen=True)
class FleetProfile:
    """How devices come and go (defaults: always online, never drop, no stragglers)."""

    online_hours: float = 24.0
    dropout: float = 0.0
    stragglers: float = 0.0
    round_timeout: float = math.inf
    base_latency: float = 1.0

    def validate(self) -> FleetProfile:
        if not 0 < self.online_hours <= 24:
            raise PocketMLError(f"online_hours {self.online_hours} is outside (0, 24]", "pass hours online per day")
        if not (0 <= self.dropout < 1 and 0 <= self.stragglers <= 1):
            raise PocketMLError(f"dropout {self.dropout} / stragglers {self.stragglers} out of range",
                                "pass probabilities in [0, 1)")
        if not self.round_timeout > 0:
            raise PocketMLError(f"round timeout {self.round_timeout} is not positive", "pass seconds > 0")
        return self


@dataclass
class RoundTraffic:
    """One round on the links: bytes each way and what happened to the sampled clients."""

    round: int
    bytes_down: int = 0
    bytes_up: int = 0
    online: int = 0
    sampled: int = 0
    replied: int = 0
    dropped: int = 0
    late: int = 0
    failed: int = 0


@dataclass
class _Node:
    node_id: int
    context: Context
    online_from: float
    straggler: bool


@dataclass
class LocalFleet(Grid):
    """A Grid over ``n_nodes`` virtual SuperNodes running ``client_app`` in this process."""

    client_app: ClientApp
    n_nodes: int
    run_config: dict
    profile: FleetProfile = field(default_factory=FleetProfile)
    seed: int = 0
    partition_ids: tuple[int, ...] | None = None  # default 0..n_nodes-1; a region holds a subset

    def __post_init__(self) -> None:
        parts = self.partition_ids if self.partition_ids is not None else tuple(range(self.n_nodes))
        total = int(self.run_config.get("clients", self.n_nodes))
        rng = np.random.default_rng(self.seed + 31337)
        self._rng = rng
        starts = rng.uniform(0, 24, self.n_nodes)
        slow = rng.random(self.n_nodes) < self.profile.stragglers
        self.nodes = {
            i + 1: _Node(i + 1, Context(run_id=1, node_id=i + 1,
                                        node_config={"partition-id": int(parts[i]), "num-partitions": total},
                                        state=RecordDict(), run_config=dict(self.run_config)),
                         float(starts[i]), bool(slow[i]))
            for i in range(self.n_nodes)
        }
        self.traffic: list[RoundTraffic] = []
        self._round = 1
        self._outbox: dict[str, Message] = {}
        self._run = Run.create_empty(1)
        TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, SERVER_NODE_ID
        random.seed(self.seed)  # Flower's strategies sample nodes with the `random` module
        np.random.seed(self.seed)  # and draw DP noise with numpy's global generator

    # -- Grid interface ---------------------------------------------------------------------
    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        hour = (self._round - 1) % 24
        return [n.node_id for n in self.nodes.values()
                if (hour - n.online_from) % 24 < self.profile.online_hours]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for msg in messages:
            msg_id = uuid.UUID(int=self._rng.integers(2**63)).hex
            msg.metadata.__dict__["_message_id"] = msg_id
            msg.metadata.__dict__["_src_node_id"] = SERVER_NODE_ID
            msg.metadata.__dict__["_run_id"] = self._run.run_id
            self._outbox[msg_id] = msg
            ids.append(msg_id)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self.send_and_receive([self._outbox.pop(i) for i in message_ids if i in self._outbox])

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        """Deliver each message, run the ClientApp, return the replies that arrive in time.

        ``timeout`` is in simulated seconds (the fleet profile's ``round_timeout`` also applies).
        """
        messages = list(messages)
        if not messages:
            return []
        if any(not m.metadata.message_id for m in messages):
            self.push_messages([m for m in messages if not m.metadata.message_id])
        is_train = messages[0].metadata.message_type == MessageType.TRAIN
        traffic = RoundTraffic(self._round if is_train else -self._round,
                               online=len(list(self.get_node_ids())), sampled=len(messages))
        limit = min(timeout if timeout is not None else math.inf, self.profile.round_timeout)
        replies = []
        for msg in messages:
            self._outbox.pop(msg.metadata.message_id, None)
            node = self.nodes[msg.metadata.dst_node_id]
            traffic.bytes_down += wire_bytes(msg)
            if self._rng.random() < self.profile.dropout:
                traffic.dropped += 1
                continue
            latency = self.profile.base_latency * self._rng.uniform(0.5, 1.5)
            if node.straggler:
                latency *= STRAGGLER_SLOWDOWN
            try:
                # each node gets its own copy, as over the wire (strategies may share one RecordDict
                # among all messages, and Flower's client mods, e.g. secaggplus_mod, consume keys)
                reply = self.client_app(wire_copy(msg), node.context)
            except Exception as exc:  # a crashing client is a failed reply, as on a SuperNode
                log(WARNING, "client on node %d failed: %s", node.node_id, exc)
                reply = Message(Error(code=1, reason=str(exc)), reply_to=msg)
                traffic.failed += 1
            reply.metadata.__dict__["_src_node_id"] = node.node_id
            traffic.bytes_up += wire_bytes(reply)  # a late reply still crossed the link
            if latency > limit:
                traffic.late += 1
                continue
            traffic.replied += 1
            replies.append(reply)
        self.traffic.append(traffic)
        if is_train:
            self._round += 1
        return replies
