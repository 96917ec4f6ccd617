"""Reference architectures people deploy, written from their papers' layer tables, untrained.

``pocketml shrink`` must compile what people actually have; these are the networks issue 21 names,
as ordinary PyTorch modules built the way torchvision builds them (torchvision itself cannot be
installed beside this project's torch), so tests and ``bench/reference_nets.py`` can shrink them
with random weights:

* :class:`MobileNetV3Small` (Howard et al. 2019, Table 2): inverted residuals with depthwise convs,
  squeeze-excite (``x · hardsigmoid(conv(relu(conv(mean(x)))))``), hard-swish, a 1024-wide head;
* :class:`SqueezeNet11` (Iandola et al. 2016, v1.1 from the authors' repository): Fire modules
  (a 1x1 squeeze, then 1x1 and 3x3 expands joined on channels), ``ceil_mode`` max pools, a conv
  classifier and global average pooling;
* :class:`CNN1D`: a 1-D signal classifier with ``MaxPool1d``, ``AvgPool1d`` and
  ``AdaptiveAvgPool1d(1)``;
* :class:`GRUClassifier` / :class:`LSTMClassifier`: ``nn.GRU`` or ``nn.LSTM`` (one or two
  stacked layers) and a Linear on its last step (pocketml unrolls them over time:
  ``pocketml/graph/recurrent.py``).

``width`` scales every channel count (rounded to multiples of 8, as torchvision does for
MobileNetV3) so tests can run small versions in seconds.
"""

from __future__ import annotations

import torch
from torch import nn


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of ``divisor`` without losing 10%."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)
        self.relu, self.gate = nn.ReLU(), nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.fc2(self.relu(self.fc1(s))))


def conv_bn_act(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type | None = nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act()] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, k: int, expanded: int, cout: int, se: bool, act: type, stride: int) -> None:
        super().__init__()
        layers = [] if expanded == cin else [conv_bn_act(cin, expanded, 1, act=act)]
        layers.append(conv_bn_act(expanded, expanded, k, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(conv_bn_act(expanded, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


# MobileNetV3-small, Table 2: kernel, expansion, output, squeeze-excite, hard-swish, stride
SMALL = ((3, 16, 16, True, False, 2), (3, 72, 24, False, False, 2), (3, 88, 24, False, False, 1),
         (5, 96, 40, True, True, 2), (5, 240, 40, True, True, 1), (5, 240, 40, True, True, 1),
         (5, 120, 48, True, True, 1), (5, 144, 48, True, True, 1), (5, 288, 96, True, True, 2),
         (5, 576, 96, True, True, 1), (5, 576, 96, True, True, 1))


class MobileNetV3Small(nn.Module):
    """MobileNetV3-small as torchvision builds it (``width_mult`` = ``width``), 3-channel input."""

    def __init__(self, classes: int = 1000, width: float = 1.0, head: int = 1024, dropout: float = 0.2) -> None:
        super().__init__()
        c = make_divisible(16 * width)
        layers: list[nn.Module] = [conv_bn_act(3, c, 3, 2, act=nn.Hardswish)]
        for k, exp, out, se, hs, s in SMALL:
            out_c = make_divisible(out * width)
            layers.append(InvertedResidual(c, k, make_divisible(exp * width), out_c, se,
                                           nn.Hardswish if hs else nn.ReLU, s))
            c = out_c
        last = make_divisible(576 * width)
        layers.append(conv_bn_act(c, last, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(last, head), nn.Hardswish(), nn.Dropout(dropout),
                                        nn.Linear(head, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1, self.expand3x3 = nn.Conv2d(squeeze, expand, 1), nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(s)), torch.relu(self.expand3x3(s))], 1)


class SqueezeNet11(nn.Module):
    """SqueezeNet 1.1 (``width`` scales the Fire modules' channels), 3-channel input."""

    def __init__(self, classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()

        def w(c: int) -> int:
            return max(4, int(round(c * width)))

        fires = [(16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256),
                 (64, 256)]
        layers: list[nn.Module] = [nn.Conv2d(3, w(64), 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True)]
        c = w(64)
        for f in fires:
            if f == "pool":
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
                continue
            layers.append(Fire(c, w(f[0]), w(f[1])))
            c = 2 * w(f[1])
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(c, classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


class CNN1D(nn.Module):
    """A 1-D signal classifier ([N, channels, length]): conv blocks with max and average pooling."""

    def __init__(self, channels: int = 3, classes: int = 6, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(channels, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AvgPool1d(2, ceil_mode=True),
            nn.Conv1d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool1d(3, 2, ceil_mode=True),
            nn.AdaptiveAvgPool1d(1))
        self.classifier = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class GRUClassifier(nn.Module):
    """A sequence classifier ([N, steps, features]): one ``nn.GRU`` (batch_first), its last hidden
    state into a Linear. ``layers=2`` stacks two one-layer GRUs, the second reading the first's
    output sequence (what pocketml unrolls; ``nn.GRU(num_layers=2)`` is refused with that advice)."""

    cell: type[nn.Module] = nn.GRU

    def __init__(self, features: int = 8, hidden: int = 32, classes: int = 10, layers: int = 1) -> None:
        super().__init__()
        self.grus = nn.ModuleList(self.cell(features if k == 0 else hidden, hidden, batch_first=True)
                                  for k in range(layers))
        self.classifier = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for gru in self.grus:
            x, _ = gru(x)
        return self.classifier(x[:, -1])


class LSTMClassifier(GRUClassifier):
    """:class:`GRUClassifier` with ``nn.LSTM`` layers."""

    cell = nn.LSTM
