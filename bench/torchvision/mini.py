"""Small test fixtures with the op patterns that torch.onnx.export writes for torchvision's ResNet-18,
MobileNetV2 and VGG-11 (see export.py for the full-size models), built from torchvision's own classes
with small widths, seeded random weights and BatchNorm made non-trivial (random affine parameters, then
running statistics from a few train-mode forward passes on random data, then eval()). Input 3×32×32,
exported at opsets 13 and 17 with a dynamic batch axis as torch.onnx.export users do.

Per model it writes NAME_op13.onnx, NAME_op17.onnx, NAME_inputs.npy (float32 [N, 3, 32, 32], see
random_images) and NAME_outputs.npy (PyTorch's logits, float32 [N, 10]).

usage: /usr/bin/python3 bench/torchvision/mini.py tests/fixtures/pytorch
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.vgg import VGG, make_layers
from torchvision.ops.misc import Conv2dNormActivation

SIZE = 32
CLASSES = 10
OPSETS = (13, 17)
SAMPLES = 4


class MiniResNet(ResNet):
    """torchvision's ResNet (BasicBlock, its _make_layer and forward) with widths `widths` instead of
    64/128/256/512, which ResNet.__init__ hard-codes: the same stem (7×7/2 conv, BN, ReLU, 3×3/2 max
    pool), basic blocks with a 1×1/2 conv + BN downsample shortcut, AdaptiveAvgPool, flatten, Linear."""

    def __init__(self, widths=(8, 16, 24, 32), layers=(1, 1, 1, 1), num_classes=CLASSES):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, widths[0], layers[0])
        self.layer2 = self._make_layer(BasicBlock, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * BasicBlock.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')


def mini_mobilenet_v2():
    """torchvision's MobileNetV2 with width_mult 0.5 and a reduced inverted_residual_setting (depthwise
    convs, ReLU6, linear bottlenecks, residual adds where n > 1). Its last 1×1 conv has 1280 channels
    whatever width_mult < 1 is; it is replaced by the same Conv2dNormActivation (BN, ReLU6) with 64
    channels, and the classifier (Dropout, Linear) accordingly."""
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 48, 2, 1]]
    m = MobileNetV2(num_classes=CLASSES, width_mult=0.5, inverted_residual_setting=setting)
    last = 64
    inp = m.features[-1][0].in_channels
    m.features[-1] = Conv2dNormActivation(inp, last, kernel_size=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU6)
    m.last_channel = last
    m.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(last, CLASSES))
    nn.init.kaiming_normal_(m.features[-1][0].weight, mode='fan_out')
    return m


class MiniVGG(VGG):
    """torchvision's VGG (its forward: features, avgpool, flatten, classifier) on make_layers of a small
    cfg (VGG-11's pattern: conv-ReLU with max pools, no BatchNorm). VGG.__init__ hard-codes a
    512·7·7 → 4096 → 4096 classifier and AdaptiveAvgPool2d((7, 7)); here the classifier has the same
    layers (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear) with 64 hidden units, and the pool keeps
    the 2×2 feature map as VGG-11's keeps its 7×7 one at 224×224 (both exported as a 1×1 AveragePool)."""

    def __init__(self, cfg=(8, 'M', 16, 'M', 24, 24, 'M', 32, 32, 'M'), hidden=64, num_classes=CLASSES, dropout=0.5):
        nn.Module.__init__(self)
        self.features = make_layers(list(cfg), batch_norm=False)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        channels = [c for c in cfg if c != 'M'][-1]
        self.classifier = nn.Sequential(
            nn.Linear(channels * 2 * 2, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():  # convs as VGG.__init__; Linear layers keep PyTorch's default init (see build)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')


MODELS = {
    'resnet_mini': MiniResNet,
    'mobilenet_v2_mini': mini_mobilenet_v2,
    'vgg_mini': MiniVGG,
}


def random_images(n):
    """Standard normal pixels with a random contrast per image (0.5 to 2) and brightness per channel
    (N(0, 0.5)), so that images differ in their global statistics as real ones do: i.i.d. noise alone
    gives nearly the same globally pooled features, and logits, for every image."""
    return torch.randn(n, 3, SIZE, SIZE) * (torch.rand(n, 1, 1, 1) * 1.5 + 0.5) + torch.randn(n, 3, 1, 1) * 0.5


def build(name, seed):
    torch.manual_seed(seed)
    model = MODELS[name]()
    with torch.no_grad():
        # As trained weights are, unlike torchvision's initialisation: non-trivial BN affine parameters,
        # non-zero conv biases, and Linear layers with PyTorch's default init (torchvision's N(0, 0.01)
        # with zero bias would make the logits ~1e-4 and nearly input-independent).
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.momentum = None  # running statistics: the plain average over the batches below
                m.reset_running_stats()
            elif isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.normal_(0, 0.1)
            elif isinstance(m, nn.Linear):
                m.reset_parameters()
        model.train()
        for _ in range(4):  # running statistics from a few random batches
            model(random_images(16))
    model.eval()
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument('out')
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for k, name in enumerate(MODELS):
        model = build(name, seed=100 + k)
        torch.manual_seed(200 + k)
        x = random_images(SAMPLES)
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(a.out, f'{name}_inputs.npy'), x.numpy().astype(np.float32))
        np.save(os.path.join(a.out, f'{name}_outputs.npy'), y.numpy().astype(np.float32))
        for opset in OPSETS:
            path = os.path.join(a.out, f'{name}_op{opset}.onnx')
            torch.onnx.export(model, torch.randn(1, 3, SIZE, SIZE), path, opset_version=opset,
                              input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
            print(path, os.path.getsize(path))
    print('torch', torch.__version__, 'torchvision', torchvision.__version__)


if __name__ == '__main__':
    main()
