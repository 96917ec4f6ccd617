"""Devices: the catalogue of real boards, the Device type, and the latency/energy cost model."""

from pocketml.devices.cost import CostEstimate, estimate_cost
from pocketml.devices.device import Device, find_device, load_catalogue

__all__ = ["Device", "load_catalogue", "find_device", "CostEstimate", "estimate_cost"]
