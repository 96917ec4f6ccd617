"""digits-cnn: a small CNN for 8x8 digits (conv-BN-ReLU x2, max pool, fully connected).

About 10 k parameters and 0.3 M MACs: a few kilobytes of int8 weights, the size class of
MLPerf Tiny's smallest models. Its 3 KB activation peak is deliberately honest: it fits any
Cortex-M board in the catalogue and not the 2 KB Arduino Uno.
"""

from __future__ import annotations

from torch import nn


class DigitsCNN(nn.Module):
    def __init__(self, width: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 4 * 4, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
