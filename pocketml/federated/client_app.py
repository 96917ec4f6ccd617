"""The pocketml ClientApp (Flower Message API): train on local data, send a (compressed) update.

Reads the run's FederatedSpec from ``context.run_config`` and its partition from
``context.node_config["partition-id"]``, so the same app runs in simulation and on a SuperNode.
The error-feedback residual lives in ``context.state`` (kept by the SuperNode between rounds).
"""

from __future__ import annotations

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from pocketml.federated import codec
from pocketml.federated.records import from_record, to_record
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import (
    accuracy,
    build_model,
    client_split,
    is_attacker,
    load_arrays,
    model_arrays,
    personalize_head,
    train_local,
)

SIGN_FLIP_SCALE = 4.0  # a sign-flipping client sends -4x its true update

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    spec = FederatedSpec.from_run_config(context.run_config)
    pid = int(context.node_config["partition-id"])
    config = msg.content["config"]
    server_round = int(config["server-round"])
    start = from_record(msg.content["arrays"])

    model = load_arrays(build_model(spec), start)
    split = client_split(spec, pid)
    loss = train_local(model, split, spec, proximal_mu=float(config.get("proximal-mu", 0.0)),
                       seed=spec.seed * 100003 + server_round * 1009 + pid)
    local = model_arrays(model)
    layout = codec.Layout.of(start)
    delta = layout.flatten(local) - layout.flatten(start)
    attack = spec.attack if is_attacker(spec, pid) else "none"
    if attack == "sign-flip":  # the learned tensors; statistics stay honest (else the gate's variance check
        delta = np.where(layout.statistics, delta, -SIGN_FLIP_SCALE * delta)  # would reject it outright)
    elif attack == "nan" and spec.compress == "none":
        delta[0] = np.nan

    metrics = MetricRecord({"num-examples": len(split), "unit-weight": 1.0, "train-loss": loss})
    if spec.compress == "none":
        arrays = layout.unflatten(layout.flatten(start) + delta)
        if attack == "wrong-shape":
            first = next(iter(arrays))
            arrays[first] = arrays[first].ravel()[:-1]
        record = RecordDict({"arrays": to_record(arrays), "metrics": metrics})
        return Message(content=record, reply_to=msg)

    payload = compress_update(context, spec, delta, layout)
    if attack == "wrong-shape":
        payload = {k: v[:-1] for k, v in payload.items()}
    elif attack == "nan":  # encoding would launder a NaN delta: poison the floats on the wire instead
        floats = "val" if "val" in payload else "scales"
        payload[floats] = payload[floats].copy()
        payload[floats][0] = np.nan
    record = RecordDict({"update": to_record(payload), "metrics": metrics,
                         "codec": ConfigRecord({"name": spec.compress})})
    return Message(content=record, reply_to=msg)


def compress_update(context: Context, spec: FederatedSpec, delta: np.ndarray, layout: codec.Layout) -> dict:
    """``delta`` encoded with ``spec.compress``, with error feedback: what the codec dropped last
    round (the residual, kept in ``context.state`` by the SuperNode) is added before encoding, and
    what it drops now is kept for the next round. Every pocketml ClientApp sends its update this way."""
    residual_record = context.state.get("residual")
    residual = residual_record["r"].numpy() if residual_record is not None else np.zeros(layout.size, np.float32)
    wanted = delta + residual if residual.shape == delta.shape else delta
    payload = codec.encode(spec.compress, wanted, layout, spec.topk_fraction)
    sent = codec.decode(spec.compress, payload, layout)
    context.state["residual"] = to_record({"r": (wanted - sent).astype(np.float32)})
    return payload


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Global model's accuracy on this client's held-out samples, and a personalized model's.

    The personalized model is the global one with its last Linear layer (the head) fine-tuned on
    this client's training samples for ``personalize-epochs`` epochs (0: no personalization).
    """
    spec = FederatedSpec.from_run_config(context.run_config)
    pid = int(context.node_config["partition-id"])
    epochs = int(msg.content["config"].get("personalize-epochs", 0))
    held_out = client_split(spec, pid, "holdout")
    model = load_arrays(build_model(spec), from_record(msg.content["arrays"]))
    metrics = {"num-examples": len(held_out), "partition-id": pid, "accuracy": accuracy(model, held_out)}
    if epochs > 0:
        personalize_head(model, client_split(spec, pid, "train"), epochs, lr=spec.lr, seed=spec.seed + pid)
        metrics["personal-accuracy"] = accuracy(model, held_out)
    return Message(content=RecordDict({"metrics": MetricRecord(metrics)}), reply_to=msg)


def with_run_config(run_config: dict) -> ClientApp:
    """This ClientApp, with ``run_config`` filled into every node's context by a Flower mod.

    Flower's ``run_simulation`` starts ClientApps with an empty run config (on a SuperNode, ``flwr
    run`` ships it); the train and evaluate functions are the ones above, unchanged.
    """
    def supply(msg: Message, context: Context, call_next) -> Message:
        own = context.run_config  # handed back unchanged: Flower refuses a modified run config
        context.run_config = {**run_config, **own}
        try:
            return call_next(msg, context)
        finally:
            context.run_config = own

    configured = ClientApp(mods=[supply])
    configured.train()(train)
    configured.evaluate()(evaluate)
    return configured
