#!/usr/bin/env bash
# Makes the shipped models of this example (run from the project root after `npm ci`; Fashion-MNIST from
# Debian's dataset-fashion-mnist). Trained on the 60 000 training images; the per-epoch accuracy printed
# is on the 10 000 test images (reported, never used to choose anything). The same command writes the
# same file.
set -euo pipefail
F=/usr/share/datasets/fashion-mnist
D=(--data $F/train-images-idx3-ubyte.gz --labels $F/train-labels-idx1-ubyte.gz --val $F/t10k-images-idx3-ubyte.gz --val-labels $F/t10k-labels-idx1-ubyte.gz --batch 128)
E=examples/fmnist-bptt
# Surrogate-gradient BPTT (fast sigmoid, k = 25), T = 8.
node bin/snnc.js train $E/mlp.arch.json --mode bptt "${D[@]}" --epochs 5 --sidecar -o $E/mlp.json
node bin/snnc.js train $E/cnn.arch.json --mode bptt "${D[@]}" --epochs 5 --lr 0.002 --lr-schedule cosine -o $E/cnn.json
# LocalZO (one perturbation per neuron and step, δ = 0.05): the backward pass runs on the active neurons only.
node bin/snnc.js train $E/mlp.arch.json --mode bptt --surrogate localzo:1,0.05 "${D[@]}" --epochs 3 --sidecar -o $E/mlp-localzo.json
# Spike-count loss: λ = 1 over both hidden layers of a two-layer MLP.
node bin/snnc.js train $E/mlp2.arch.json --mode bptt --spike-loss 1 "${D[@]}" --epochs 2 --sidecar -o $E/mlp2-spike-loss.json
# Deep residual SNN: ten synaptic layers, batchnorm on the input currents, T = 4, a broad surrogate (k = 1).
node bin/snnc.js train $E/resnet-fc.arch.json --mode bptt --surrogate fast-sigmoid:1 "${D[@]}" --epochs 10 --lr 0.002 --lr-schedule cosine -o $E/resnet-fc.json
