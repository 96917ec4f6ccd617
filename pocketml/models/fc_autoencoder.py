"""fc-autoencoder: a fully connected autoencoder for anomaly detection, shaped like MLPerf Tiny's.

Input [N, 640] (5 frames x 128 log-mel bands). As the MLPerf reference: four 128-unit
linear + BatchNorm + ReLU layers, an 8-unit bottleneck (linear + BatchNorm + ReLU), four more
128-unit layers and a 640-unit linear output: the reconstruction. Its output is not class
scores: the anomaly score is the reconstruction error, so ``shrink`` is given no labels and
reports no accuracy (the C is still compared with the reference byte for byte). About 270 k
parameters and MACs.
"""

from __future__ import annotations

from torch import nn


def _dense(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU()]


class FCAutoencoder(nn.Module):
    def __init__(self, n_inputs: int = 640, width: int = 128, bottleneck: int = 8) -> None:
        super().__init__()
        dims = [n_inputs, width, width, width, width, bottleneck, width, width, width, width]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += _dense(a, b)
        self.net = nn.Sequential(*layers, nn.Linear(width, n_inputs))

    def forward(self, x):
        return self.net(x)
