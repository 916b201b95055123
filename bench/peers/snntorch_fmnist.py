#!/usr/bin/env python3
"""snnTorch peer: surrogate-gradient BPTT on Fashion-MNIST, CPU, torch 1.13.

snnTorch is run from its sources (PyPI is unreachable here). Tested with
jeshraghian/snntorch commit 634fc22385ec5581998e62787bbe39b53662140f
(`git describe --tags`: v0.9.4-61-g634fc22, package __version__ 0.9.4), the
same commit bench/peers/nir/extract_sources.sh pins. Its core (snntorch.Leaky,
snntorch.surrogate) imports and trains unmodified on Debian bookworm's
/usr/bin/python3 (3.11) with torch 1.13 CPU; no shims are needed.

Get the sources from a bare git dir (the session `fetch` tool's
github:jeshraghian/snntorch). Archive only the package folder, because the
snapshot lacks some docs blobs:

    G=<bare git dir of jeshraghian/snntorch>; D=scratch/peers/snntorch-src
    mkdir -p $D && git --git-dir=$G archive HEAD snntorch | tar -x -C $D
    git --git-dir=$G describe --tags HEAD > $D/.commit   # optional, for "version"
    /usr/bin/python3 bench/peers/snntorch_fmnist.py --snntorch $D --arch mlp --threads 1

(bench/peers/nir/extract_sources.sh also produces a usable folder,
scratch/peers/snntorch.)

Networks (direct encoding: the same image is the input current at each of the
T steps):
  mlp: flatten -> Linear(784,400) -> Leaky -> Linear(400,10)
  cnn: Conv(1,16,3,p1) -> Leaky -> AvgPool2 -> Conv(16,32,3,p1) -> Leaky
       -> AvgPool2 -> flatten -> Linear(1568,10)
Leaky: beta, threshold 1, reset "subtract", snnTorch defaults otherwise
(reset_delay=True, detached reset). The readout is the last Linear's output
averaged over T (no neuron); loss = cross-entropy of the averaged logits.
Because the input is constant, the first layer's current is computed once and
reused at every step (`--no-hoist` recomputes it per step as the snnTorch
tutorials do; the result is identical, only the time differs).

snnTorch Leaky at this commit, per step t (reset_delay=True, reset "subtract"),
with H(x) = 1 if x > 0 else 0 (strict) and U[0] = 0:
    R[t] = H(U[t-1] - thr)            (detached: no gradient through the reset)
    U[t] = beta * U[t-1] + I[t] - R[t] * thr
    S[t] = H(U[t] - thr)              (surrogate gradient in backward)
i.e. the spike is emitted in the step the threshold is crossed, the returned
membrane is the pre-reset value, and the subtraction happens at the next step
and is not multiplied by beta.

Output: one progress line per epoch on stderr, then ONE JSON line on stdout.
"""
import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--snntorch", required=True,
                   help="folder holding the extracted snntorch/ package (prepended to sys.path)")
    p.add_argument("--snntorch-version", default=None,
                   help="override the version string reported in the JSON")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                   help="folder with the four Fashion-MNIST idx .gz files")
    p.add_argument("--arch", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--beta", type=float, default=0.9)
    p.add_argument("--surrogate", choices=["fast_sigmoid", "atan"], default="fast_sigmoid")
    p.add_argument("--slope", type=float, default=25.0, help="fast_sigmoid slope")
    p.add_argument("--alpha", type=float, default=2.0, help="atan alpha")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--timesteps", type=int, default=8)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train", type=int, default=60000, help="number of training images used")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--measure-batches", type=int, default=0,
                   help="stop each epoch after K batches (0: full epoch); test accuracy is still reported")
    p.add_argument("--test-batch", type=int, default=1000)
    p.add_argument("--no-hoist", action="store_true",
                   help="recompute the first layer's (constant) input current at every step")
    return p.parse_args()


def snntorch_version(path, snn):
    for name in (".commit", "SNNTORCH_GIT_DESCRIBE"):
        f = os.path.join(path, name)
        if os.path.isfile(f):
            with open(f) as fh:
                first = fh.readline().strip()
            if first:
                return first
    try:
        out = subprocess.run(["git", "-C", path, "describe", "--tags", "--always"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "snntorch-" + getattr(snn, "__version__", "unknown")


def read_idx(path, np):
    """Read a gzipped idx file (big-endian header) into a numpy uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    zero, dtype, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return data.reshape(dims)


def load_fmnist(folder, torch, np):
    def images(name):
        a = read_idx(os.path.join(folder, name), np).astype(np.float32) / 255.0
        return torch.from_numpy(a).unsqueeze(1)  # N,1,28,28 channel-first

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(folder, name), np).astype(np.int64))

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def build_net(args, torch, snn, surrogate):
    nn = torch.nn
    if args.surrogate == "atan":
        spike_grad = surrogate.atan(alpha=args.alpha)
    else:
        spike_grad = surrogate.fast_sigmoid(slope=args.slope)

    def leaky():
        return snn.Leaky(beta=args.beta, threshold=1.0, spike_grad=spike_grad,
                         reset_mechanism="subtract")

    T = args.timesteps
    hoist = not args.no_hoist

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.lif1 = leaky()
            self.fc2 = nn.Linear(400, 10)

        def forward(self, x):
            x = x.flatten(1)
            mem1 = self.lif1.reset_mem()
            cur1 = self.fc1(x) if hoist else None
            acc = 0
            for _ in range(T):
                c1 = cur1 if hoist else self.fc1(x)
                spk1, mem1 = self.lif1(c1, mem1)
                acc = acc + self.fc2(spk1)
            return acc / T

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.lif1 = leaky()
            self.pool1 = nn.AvgPool2d(2)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.lif2 = leaky()
            self.pool2 = nn.AvgPool2d(2)
            self.fc = nn.Linear(32 * 7 * 7, 10)

        def forward(self, x):
            mem1 = self.lif1.reset_mem()
            mem2 = self.lif2.reset_mem()
            cur1 = self.conv1(x) if hoist else None
            acc = 0
            for _ in range(T):
                c1 = cur1 if hoist else self.conv1(x)
                spk1, mem1 = self.lif1(c1, mem1)
                spk2, mem2 = self.lif2(self.conv2(self.pool1(spk1)), mem2)
                acc = acc + self.fc(self.pool2(spk2).flatten(1))
            return acc / T

    return MLP() if args.arch == "mlp" else CNN()


def evaluate(net, x, y, batch, torch):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = net(x[i:i + batch])
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    net.train()
    return 100.0 * correct / x.shape[0]


def median(v):
    s = sorted(v)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def main():
    args = parse_args()
    src = os.path.abspath(args.snntorch)
    if not os.path.isdir(os.path.join(src, "snntorch")):
        sys.exit(f"--snntorch {src}: no snntorch/ package folder there")
    sys.path.insert(0, src)

    import numpy as np
    import torch
    import snntorch as snn
    from snntorch import surrogate

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    xtr, ytr, xte, yte = load_fmnist(args.data, torch, np)
    n_train = min(args.train, xtr.shape[0])
    xtr, ytr = xtr[:n_train].contiguous(), ytr[:n_train].contiguous()

    net = build_net(args, torch, snn, surrogate)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)

    epochs = []
    fb_ms, step_ms = [], []
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n_train, generator=gen)
        loss_sum, seen, batches = 0.0, 0, 0
        t0 = time.perf_counter()
        for i in range(0, n_train, args.batch):
            if args.measure_batches and batches >= args.measure_batches:
                break
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            tb = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            tfb = time.perf_counter()
            opt.step()
            ts = time.perf_counter()
            if xb.shape[0] == args.batch:  # full batches only in the medians
                fb_ms.append(1e3 * (tfb - tb))
                step_ms.append(1e3 * (ts - tb))
            loss_sum += loss.item() * xb.shape[0]
            seen += xb.shape[0]
            batches += 1
        train_seconds = time.perf_counter() - t0
        acc = evaluate(net, xte, yte, args.test_batch, torch)
        rec = {"epoch": epoch, "train_seconds": round(train_seconds, 3),
               "batches": batches, "images": seen,
               "loss": round(loss_sum / max(seen, 1), 5), "test_accuracy": round(acc, 2)}
        epochs.append(rec)
        print(f"epoch {epoch}: {batches} batches ({seen} images) in {train_seconds:.2f} s, "
              f"loss {rec['loss']:.4f}, test accuracy {acc:.2f}%", file=sys.stderr, flush=True)

    out = {
        "peer": "snntorch",
        "version": args.snntorch_version or snntorch_version(src, snn),
        "snntorch_package_version": getattr(snn, "__version__", None),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "arch": args.arch,
        "T": args.timesteps,
        "threads": args.threads,
        "batch": args.batch,
        "lr": args.lr,
        "beta": args.beta,
        "surrogate": args.surrogate,
        "surrogate_param": args.alpha if args.surrogate == "atan" else args.slope,
        "train_images": n_train,
        "measure_batches": args.measure_batches,
        "hoist_input": not args.no_hoist,
        "seed": args.seed,
        "epochs": epochs,
        # forward + loss + backward (zero_grad included), full batches, all epochs
        "forward_backward_ms_per_batch": round(median(fb_ms), 3) if fb_ms else None,
        # the same plus the Adam step
        "train_step_ms_per_batch": round(median(step_ms), 3) if step_ms else None,
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
