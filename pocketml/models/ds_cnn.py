"""ds-cnn: a depthwise-separable CNN for keyword spotting, shaped like MLPerf Tiny's KWS model.

Input [N, 1, 49, 10] (49 frames x 10 MFCCs). As the MLPerf reference: a 10x4 stride-2 conv with
TFLite's SAME padding (written as an explicit zero pad: top 4, bottom 5, left 1, right 1, so the
int8 graph pads exactly as TFLite does), then four blocks of depthwise 3x3 + pointwise 1x1
(each followed by BatchNorm and ReLU), global average pooling, a 12-way linear layer and softmax.
About 23 k parameters and 2.7 M MACs at width 64.
"""

from __future__ import annotations

from torch import nn


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU()]


class DSCNN(nn.Module):
    def __init__(self, width: int = 64, n_classes: int = 12, blocks: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ZeroPad2d((1, 1, 4, 5)), nn.Conv2d(1, width, (10, 4), stride=2, bias=False),
                                   *_bn_relu(width), nn.Dropout(0.2)]
        for _ in range(blocks):
            layers += [nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False), *_bn_relu(width),
                       nn.Conv2d(width, width, 1, bias=False), *_bn_relu(width)]
        self.features = nn.Sequential(*layers, nn.Dropout(0.4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, n_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.classifier(self.pool(self.features(x)).flatten(1)))

    def head(self) -> nn.Module:
        return self.classifier
