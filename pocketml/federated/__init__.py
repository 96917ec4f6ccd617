"""Federated learning on Flower 1.42's Message API: one ClientApp and one ServerApp around a task,
strategies, compressed updates, robust aggregation, differential privacy and a simulated fleet.

    result = pocketml.federated.run(clients=100, rounds=30, partition="dirichlet:0.5",
                                    compress="int8-topk")        # the built-in task → FederatedResult
    result.accuracy, result.total_bytes_up, result.model()

    # your own PyTorch model and per-client data (optionally cell → region → top):
    result = pocketml.federated.run(model_fn=..., client_data_fn=..., loss_fn=..., clients=4,
                                    groups=[0, 0, 1, 1])          # a ModelTask → TaskResult
    # with server_optimizer=ServerOptimizer("fedadam", lr=0.03): FedAdam at the top of that hierarchy
"""

from pocketml.federated.builtin import BuiltinTask
from pocketml.federated.fleet import FleetProfile
from pocketml.federated.ray_backend import RayOptions
from pocketml.federated.run import FederatedResult, TaskResult, run
from pocketml.federated.server_optimizer import ServerOptimizer
from pocketml.federated.spec import FederatedSpec
from pocketml.federated.task import LocalUpdate, ModelTask, Task

__all__ = ["BuiltinTask", "FederatedResult", "FederatedSpec", "FleetProfile", "LocalUpdate", "ModelTask", "RayOptions",
           "ServerOptimizer", "Task", "TaskResult", "run"]
