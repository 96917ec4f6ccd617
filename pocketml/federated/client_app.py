"""The pocketml ClientApp (Flower Message API): train a task on local data, send a (compressed) update.

``build_client_app(make_task)`` is the only ClientApp: every message rebuilds the run's
FederatedSpec from ``context.run_config``, asks ``make_task(spec)`` for the task (a built-in one,
a caller's model, a part trained in C: task.py) and trains it on partition
``context.node_config["partition-id"]``; so the same app runs in simulation and on a SuperNode.
The error-feedback residual lives in ``context.state`` (kept by the SuperNode between rounds).

``app`` is the ClientApp of built-in runs (``BuiltinTask.from_spec``), the one a SuperNode names
(``clientapp = "pocketml.federated.client_app:app"``). It also plays the attack harness: a
spec's poisoned clients train honestly, then tamper with what they send.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from pocketml.federated import codec
from pocketml.federated.builtin import BuiltinTask
from pocketml.federated.records import from_record, to_record
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import LocalUpdate, Task

SIGN_FLIP_SCALE = 4.0  # a sign-flipping client sends -4x its true update


def build_client_app(make_task: Callable[[FederatedSpec], Task], run_config: dict | None = None) -> ClientApp:
    """The ClientApp around ``make_task(spec)``: ``train`` replies with an update, ``evaluate`` with the
    task's personalization figures.

    ``run_config``: filled into every node's context by a Flower mod (Flower's ``run_simulation``
    starts ClientApps with an empty run config; on a SuperNode ``flwr run`` ships it).
    """
    app = ClientApp(mods=[_supply(run_config)] if run_config is not None else None)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        spec = FederatedSpec.from_run_config(context.run_config)
        pid = int(context.node_config["partition-id"])
        config = msg.content["config"]
        server_round = int(config["server-round"])
        start = from_record(msg.content["arrays"])
        task = make_task(spec)
        update = task.train(start, pid, spec, seed=spec.client_seed(server_round, pid),
                            proximal_mu=float(config.get("proximal-mu", 0.0)))
        return Message(content=_reply(context, spec, task, start, update, server_round, pid), reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        """Global model's figures on this client's held-out samples, and a personalized model's
        (``personalize-epochs`` epochs of local fine-tuning; 0: none)."""
        spec = FederatedSpec.from_run_config(context.run_config)
        pid = int(context.node_config["partition-id"])
        epochs = int(msg.content["config"].get("personalize-epochs", 0))
        metrics = make_task(spec).personalize(from_record(msg.content["arrays"]), pid, spec, epochs)
        return Message(content=RecordDict({"metrics": MetricRecord(metrics)}), reply_to=msg)

    return app


def _reply(context: Context, spec: FederatedSpec, task: Task, start: dict[str, np.ndarray], update: LocalUpdate,
           server_round: int, pid: int) -> RecordDict:
    """The reply's records: full weights (``compress`` "none") or the encoded delta with error
    feedback; a poisoned client (``spec.attack``) tampers with either first."""
    layout = codec.Layout.of(start)
    attack = spec.attack if spec.is_attacker(pid) else "none"
    arrays = update.arrays
    if spec.compress != "none" or attack in ("sign-flip", "nan") or task.reply_via_delta:
        delta = layout.flatten(arrays) - layout.flatten(start)
        if attack == "sign-flip":  # the learned tensors; statistics stay honest (else the gate's variance check
            delta = np.where(layout.statistics, delta, -SIGN_FLIP_SCALE * delta)  # would reject it outright)
        elif attack == "nan" and spec.compress == "none":
            delta[0] = np.nan
        if spec.compress == "none":
            arrays = layout.unflatten(layout.flatten(start) + delta)
    if spec.compress == "none":
        if attack == "wrong-shape":
            arrays = dict(arrays)
            first = next(iter(arrays))
            arrays[first] = arrays[first].ravel()[:-1]
        metrics = task.reply_metrics(update, arrays, server_round, pid)
        return RecordDict({"arrays": to_record(arrays), "metrics": MetricRecord(metrics)})

    payload = compress_update(context, spec, delta, layout)
    if attack == "wrong-shape":
        payload = {k: v[:-1] for k, v in payload.items()}
    elif attack == "nan":  # encoding would launder a NaN delta: poison the floats on the wire instead
        floats = "val" if "val" in payload else "scales"
        payload[floats] = payload[floats].copy()
        payload[floats][0] = np.nan
    metrics = task.reply_metrics(update, payload, server_round, pid)
    return RecordDict({"update": to_record(payload), "metrics": MetricRecord(metrics),
                       "codec": ConfigRecord({"name": spec.compress})})


def compress_update(context: Context, spec: FederatedSpec, delta: np.ndarray, layout: codec.Layout) -> dict:
    """``delta`` encoded with ``spec.compress``, with error feedback: what the codec dropped last
    round (the residual, kept in ``context.state`` by the SuperNode) is added before encoding, and
    what it drops now is kept for the next round."""
    residual_record = context.state.get("residual")
    residual = residual_record["r"].numpy() if residual_record is not None else np.zeros(layout.size, np.float32)
    wanted = delta + residual if residual.shape == delta.shape else delta
    payload = codec.encode(spec.compress, wanted, layout, spec.topk_fraction)
    sent = codec.decode(spec.compress, payload, layout)
    context.state["residual"] = to_record({"r": (wanted - sent).astype(np.float32)})
    return payload


def _supply(run_config: dict):
    """A Flower mod lending each node's context ``run_config`` during the call."""
    def supply(msg: Message, context: Context, call_next) -> Message:
        own = context.run_config  # handed back unchanged: Flower refuses a modified run config
        context.run_config = {**run_config, **own}
        try:
            return call_next(msg, context)
        finally:
            context.run_config = own

    return supply


app = build_client_app(BuiltinTask.from_spec)
