"""Federated learning on Flower 1.42's Message API: pocketml's ClientApp/ServerApp, strategies,
compressed updates, robust aggregation, differential privacy and a simulated fleet.

    result = pocketml.federated.run(clients=100, rounds=30, partition="dirichlet:0.5",
                                    compress="int8-topk")
    result.accuracy, result.total_bytes_up, result.model()

    # your own PyTorch model and per-client data (optionally cell → region → top):
    result = pocketml.federated.run(model_fn=..., client_data_fn=..., loss_fn=..., clients=4,
                                    groups=[0, 0, 1, 1])          # → TaskResult (model_task.py)
    # with server_optimizer=ServerOptimizer("fedadam", lr=0.03): FedAdam at the top of that hierarchy
"""

from pocketml.federated.fleet import FleetProfile
from pocketml.federated.model_task import ModelTask, TaskResult
from pocketml.federated.ray_backend import RayOptions
from pocketml.federated.run import FederatedResult, run
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.spec import FederatedSpec

__all__ = ["FederatedResult", "FederatedSpec", "FleetProfile", "ModelTask", "RayOptions", "ServerOptimizer",
           "TaskResult", "run"]
