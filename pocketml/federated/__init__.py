"""Federated learning on Flower 1.42's Message API: pocketml's ClientApp/ServerApp, strategies,
compressed updates, robust aggregation, differential privacy and a simulated fleet.

    result = pocketml.federated.run(clients=100, rounds=30, partition="dirichlet:0.5",
                                    compress="int8-topk")
    result.accuracy, result.total_bytes_up, result.model()
"""

from pocketml.federated.fleet import FleetProfile
from pocketml.federated.run import FederatedResult, run
from pocketml.federated.spec import FederatedSpec

__all__ = ["FederatedResult", "FederatedSpec", "FleetProfile", "run"]
