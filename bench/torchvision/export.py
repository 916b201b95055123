"""Exports torchvision ImageNet-class models to ONNX as a user would (torch.onnx.export), with seeded
random weights (no downloads here) and BatchNorm running statistics made non-trivial by a few forward
passes in train mode, so folding and calibration see realistic values.

usage: /usr/bin/python3 bench/torchvision/export.py OUT_DIR [--size 224] [--opset 17] [MODEL ...]
"""
import argparse
import os

import torch
import torchvision

MODELS = {
    'resnet18': lambda: torchvision.models.resnet18(weights=None),
    'mobilenet_v2': lambda: torchvision.models.mobilenet_v2(weights=None),
    'vgg11': lambda: torchvision.models.vgg11(weights=None),
}


def export(name, out_dir, size, opset):
    torch.manual_seed(0)
    model = MODELS[name]()
    model.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics from a few random batches
            model(torch.randn(4, 3, size, size))
    model.eval()
    path = os.path.join(out_dir, f'{name}_{size}.onnx')
    torch.onnx.export(model, torch.randn(1, 3, size, size), path, opset_version=opset,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    print(path, os.path.getsize(path))


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('out')
    p.add_argument('models', nargs='*', default=list(MODELS))
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--opset', type=int, default=17)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for m in a.models:
        export(m, a.out, a.size, a.opset)
