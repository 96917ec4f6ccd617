"""resnet8: a ResNet-8 image classifier, shaped like MLPerf Tiny's image-classification model.

Input [N, 3, 32, 32]. As the MLPerf reference: a 3x3 conv (16), then three residual stacks of
two 3x3 convs each (16, 32, 64 channels; the 2nd and 3rd start with stride 2 and join through a
1x1 stride-2 shortcut conv), each join an add followed by ReLU, then global average pooling, a
10-way linear layer and softmax. Stride-2 3x3 convs pad as TFLite's SAME does (bottom/right only,
an explicit zero pad). About 78 k parameters and 12.5 M MACs.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class ResidualStack(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        # stride 2: TFLite's SAME pads bottom/right only (explicit pad); stride 1: symmetric, in the conv
        self.pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.Identity()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=0 if stride == 2 else 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(self.pad(x))))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet8(nn.Module):
    def __init__(self, n_classes: int = 10, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU())
        self.stack1 = ResidualStack(widths[0], widths[0], 1)
        self.stack2 = ResidualStack(widths[0], widths[1], 2)
        self.stack3 = ResidualStack(widths[1], widths[2], 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(widths[2], n_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.stack3(self.stack2(self.stack1(self.stem(x))))
        return self.softmax(self.classifier(self.pool(x).flatten(1)))

    def head(self) -> nn.Module:
        return self.classifier
