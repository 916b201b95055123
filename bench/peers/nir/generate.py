#!/usr/bin/python3
"""Generate the NIR peer fixtures in tests/fixtures/nir-peers/.

For every case: build a small network in a real Python SNN library, run the
library's OWN model step by step (batch 1) on a fixed input, record per-layer
spikes (and states), then export the network with the library's OWN NIR
exporter and write it with the `nir` package.

Usage (see tests/fixtures/nir-peers/README.md for the full recipe):

    apt-get install -y python3-torch python3-h5py python3-numpy
    bench/peers/nir/extract_sources.sh          # -> scratch/peers/<lib>
    /usr/bin/python3 bench/peers/nir/generate.py [--out DIR] [--peers DIR]

Determinism: the script re-executes itself with PYTHONHASHSEED=0 (nirtorch's
legacy `extract_nir_graph` de-duplicates edges through a `set`, so the edge
order in the .nir file would otherwise depend on string hashing), uses one
torch thread, fixed seeds, and writes .npz archives with a fixed zip timestamp.
"""
import argparse
import io
import json
import os
import sys
import zipfile
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

if os.environ.get("PYTHONHASHSEED") != "0":
    env = dict(os.environ, PYTHONHASHSEED="0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "nir-peers"))
ap.add_argument("--peers", default=os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scratch", "peers")))
ap.add_argument("--only", nargs="*", default=None, help="subset of case names")
ARGS = ap.parse_args()

PEERS = ARGS.peers
LIBS = ["NIR", "nirtorch", "snntorch", "norse", "sinabs", "spikingjelly"]
for lib in LIBS:
    if not os.path.isdir(os.path.join(PEERS, lib)):
        sys.exit(f"missing {PEERS}/{lib}: run bench/peers/nir/extract_sources.sh first")
sys.path[:0] = [os.path.join(HERE, "shims")] + [os.path.join(PEERS, lib) for lib in LIBS]


def commit_of(lib):
    p = os.path.join(PEERS, lib, ".commit")
    return open(p).read().strip() if os.path.exists(p) else "unknown"


import numpy as np  # noqa: E402
import torch  # noqa: E402

import torch113_compat  # noqa: E402

torch113_compat.install()

import nir  # noqa: E402

# `nir.write` stores `nir.version`, which the package takes from installed
# metadata; we run it from a source checkout, so set it explicitly
# (setuptools-scm style version of the pinned commit: v1.0.7 + 9 commits).
NIR_VERSION = "1.0.8.dev9+g" + commit_of("NIR")[:7]
nir.version = nir.__version__ = NIR_VERSION

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OUT = ARGS.out
os.makedirs(OUT, exist_ok=True)
MANIFEST = OrderedDict()


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def save_npy(path, arr):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)


def save_npz(path, arrays):
    """Deterministic np.savez: uncompressed (ZIP_STORED, so a reader needs no
    inflate), fixed zip timestamps, sorted keys."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def spikes_u8(list_of_tensors):
    """[T] list of (1, ...) tensors -> uint8 [T, N] (spikes or spike counts)."""
    a = torch.stack([t.detach().reshape(-1) for t in list_of_tensors]).numpy()
    assert np.all(a >= 0) and np.all(a <= 255) and np.all(a == np.round(a)), "non-integer spikes"
    return a.astype(np.uint8)


def f32(list_of_tensors):
    return torch.stack([t.detach().reshape(-1) for t in list_of_tensors]).numpy().astype(np.float32)


def bernoulli_input(seed, T, shape, p):
    rng = np.random.RandomState(seed)
    return (rng.rand(T, *shape) < p).astype(np.float32)


def write_case(case, graph, x, spikes, states, values=None, meta=None):
    """spikes: {node: uint8 [T,N]}, states: {"v": {node: f32 [T,N]}, ...},
    values: {node: f32 [T,N]} (non-spiking readouts)."""
    nir_path = os.path.join(OUT, f"{case}.nir")
    nir.write(nir_path, graph)
    # sanity: file re-reads with the nir package, recorded nodes exist
    g2 = nir.read(nir_path)
    for k in list(spikes) + list(values or {}):
        assert k in g2.nodes, (case, k, list(g2.nodes))
    save_npy(os.path.join(OUT, f"{case}.input.npy"), x.astype(np.float32))
    save_npz(os.path.join(OUT, f"{case}.spikes.npz"), spikes)
    files = [f"{case}.nir", f"{case}.input.npy", f"{case}.spikes.npz"]
    for var, d in states.items():
        save_npz(os.path.join(OUT, f"{case}.{var}.npz"), d)
        files.append(f"{case}.{var}.npz")
    for node, arr in (values or {}).items():
        save_npy(os.path.join(OUT, f"{case}.{node}.values.npy"), arr)
        files.append(f"{case}.{node}.values.npy")
    rates = {k: round(float(v.astype(np.float64).mean()), 4) for k, v in spikes.items()}
    entry = OrderedDict(
        T=int(x.shape[0]),
        input_shape=list(x.shape[1:]),
        files=files,
        spike_nodes=list(spikes),
        spike_rates=rates,
        state_vars={var: sorted(d) for var, d in states.items()},
        value_nodes=list(values or {}),
        nir_version=NIR_VERSION,
        nir_commit=commit_of("NIR"),
        nirtorch_commit=commit_of("nirtorch"),
    )
    entry.update(meta or {})
    MANIFEST[case] = entry
    print(f"{case}: T={x.shape[0]} input={list(x.shape[1:])} rates={rates}")


def scaled_linear(n_in, n_out, gain, bias_gain=1.0, bias_offset=0.0):
    """torch default init, weights scaled to get useful firing rates."""
    lin = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.mul_(gain)
        lin.bias.mul_(bias_gain).add_(bias_offset)
    return lin


def uniform(n, lo, hi, gen):
    return lo + (hi - lo) * torch.rand(n, generator=gen)


# --------------------------------------------------------------------------
# snnTorch
# --------------------------------------------------------------------------
def snntorch_cases():
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    common = dict(library="snntorch", library_commit=commit_of("snntorch"),
                  exporter="snntorch.export_nir.export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])")

    def run_seq(net, x, neuron_names, state_attrs):
        """Step the Sequential (init_hidden=True modules) and record per layer."""
        for m in net.modules():
            if hasattr(m, "reset_mem"):
                m.reset_mem()
        spk = {k: [] for k in neuron_names}
        st = {a: {k: [] for k in neuron_names} for a in state_attrs}
        with torch.no_grad():
            for t in range(x.shape[0]):
                h = torch.from_numpy(x[t]).unsqueeze(0)
                for name, mod in net.named_children():
                    h = mod(h)
                    if isinstance(h, tuple):  # output=True -> (spk, [syn,] mem)
                        h = h[0]
                    if name in neuron_names:
                        spk[name].append(h)
                        for a in state_attrs:
                            if hasattr(mod, a):
                                st[a][name].append(getattr(mod, a))
        return spk, st

    T, n_in = 40, 16

    # 1. Leaky with per-neuron learnable beta/threshold ------------------------
    for case, reset in (("snntorch_leaky", "subtract"), ("snntorch_leaky_zero", "zero")):
        if ARGS.only and case not in ARGS.only:
            continue
        torch.manual_seed(1)
        gen = torch.Generator().manual_seed(101)
        net = torch.nn.Sequential(OrderedDict([
            ("fc1", scaled_linear(n_in, 32, 2.0)),
            ("lif1", snn.Leaky(beta=uniform(32, 0.7, 0.95, gen), threshold=uniform(32, 0.5, 1.5, gen),
                               learn_beta=True, learn_threshold=True, init_hidden=True,
                               reset_mechanism=reset)),
            ("fc2", scaled_linear(32, 8, 3.0)),
            ("lif2", snn.Leaky(beta=uniform(8, 0.7, 0.95, gen), threshold=uniform(8, 0.5, 1.5, gen),
                               learn_beta=True, learn_threshold=True, init_hidden=True, output=True,
                               reset_mechanism=reset)),
        ]))
        x = bernoulli_input(11, T, (n_in,), 0.3)
        spk, st = run_seq(net, x, ["lif1", "lif2"], ["mem"])
        graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
        write_case(case, graph, x,
                   {k: spikes_u8(v) for k, v in spk.items()},
                   {"v": {k: f32(v) for k, v in st["mem"].items()}},
                   meta=dict(common, flavour="snntorch", dt=1e-4,
                             reset_mechanism=reset,
                             notes="v.npz = snnTorch `mem` returned at step t (reset for s[t] not yet applied)"))

    # 2. Synaptic (per-neuron alpha/beta/threshold) ---------------------------
    case = "snntorch_synaptic"
    if not ARGS.only or case in ARGS.only:
        torch.manual_seed(2)
        gen = torch.Generator().manual_seed(102)
        net = torch.nn.Sequential(OrderedDict([
            ("fc1", scaled_linear(n_in, 32, 1.0)),
            ("lif1", snn.Synaptic(alpha=uniform(32, 0.5, 0.9, gen), beta=uniform(32, 0.7, 0.95, gen),
                                  threshold=uniform(32, 0.5, 1.5, gen), learn_alpha=True, learn_beta=True,
                                  learn_threshold=True, init_hidden=True)),
            ("fc2", scaled_linear(32, 8, 1.0)),
            ("lif2", snn.Synaptic(alpha=uniform(8, 0.5, 0.9, gen), beta=uniform(8, 0.7, 0.95, gen),
                                  threshold=uniform(8, 0.5, 1.5, gen), learn_alpha=True, learn_beta=True,
                                  learn_threshold=True, init_hidden=True, output=True)),
        ]))
        x = bernoulli_input(12, T, (n_in,), 0.3)
        spk, st = run_seq(net, x, ["lif1", "lif2"], ["syn", "mem"])
        graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
        write_case(case, graph, x,
                   {k: spikes_u8(v) for k, v in spk.items()},
                   {"v": {k: f32(v) for k, v in st["mem"].items()},
                    "isyn": {k: f32(v) for k, v in st["syn"].items()}},
                   meta=dict(common, flavour="snntorch", dt=1e-4, reset_mechanism="subtract",
                             notes="v.npz = `mem`, isyn.npz = `syn` returned at step t"))

    # 3. RLeaky -> RSynaptic, all-to-all linear recurrence ----------------------
    case = "snntorch_recurrent"
    if not ARGS.only or case in ARGS.only:
        torch.manual_seed(3)
        gen = torch.Generator().manual_seed(103)
        lif1 = snn.RLeaky(beta=uniform(24, 0.7, 0.95, gen), threshold=uniform(24, 0.5, 1.5, gen),
                          linear_features=24, learn_beta=True, learn_threshold=True, init_hidden=True)
        lif2 = snn.RSynaptic(alpha=uniform(8, 0.5, 0.9, gen), beta=uniform(8, 0.7, 0.95, gen),
                             threshold=uniform(8, 0.5, 1.5, gen), linear_features=8,
                             learn_alpha=True, learn_beta=True, learn_threshold=True,
                             init_hidden=True, output=True)
        with torch.no_grad():  # keep recurrence moderate (biases are kept: exported too)
            lif1.recurrent.weight.mul_(1.5)
            lif2.recurrent.weight.mul_(1.5)
        net = torch.nn.Sequential(OrderedDict([
            ("fc1", scaled_linear(n_in, 24, 2.0)), ("lif1", lif1),
            ("fc2", scaled_linear(24, 8, 0.7)), ("lif2", lif2),
        ]))
        x = bernoulli_input(13, T, (n_in,), 0.3)
        spk, st = run_seq(net, x, ["lif1", "lif2"], ["syn", "mem"])
        graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
        ren = {"lif1": "lif1.lif", "lif2": "lif2.lif"}  # exported subgraph node names
        write_case(case, graph, x,
                   {ren[k]: spikes_u8(v) for k, v in spk.items()},
                   {"v": {ren[k]: f32(v) for k, v in st["mem"].items()},
                    "isyn": {ren[k]: f32(v) for k, v in st["syn"].items() if v}},
                   meta=dict(common, flavour="snntorch", dt=1e-4, reset_mechanism="subtract",
                             notes="RLeaky/RSynaptic export as nested NIRGraph {input, lif, w_rec, output}; "
                                   "nirtorch flattens it to nodes '<name>.lif' and '<name>.w_rec' "
                                   "(w_rec = Affine incl. the recurrent nn.Linear bias)."))


# --------------------------------------------------------------------------
# Norse
# --------------------------------------------------------------------------
def norse_cases():
    case = "norse_lifbox_li"
    if ARGS.only and case not in ARGS.only:
        return
    import norse.torch as nt
    from norse.torch.functional.leaky_integrator_box import LIBoxParameters
    from norse.torch.functional.lif_box import LIFBoxParameters

    torch113_compat.patch_norse_autograd()

    T, n_in, n_hid, n_out = 40, 16, 32, 8
    torch.manual_seed(4)
    gen = torch.Generator().manual_seed(104)
    p1 = LIFBoxParameters(
        tau_mem_inv=uniform(n_hid, 50.0, 200.0, gen),  # 1/s; dt = 1e-3 s
        v_leak=torch.zeros(n_hid),
        v_th=uniform(n_hid, 0.5, 1.5, gen),
        v_reset=torch.zeros(n_hid),
    )
    p2 = LIBoxParameters(tau_mem_inv=uniform(n_out, 50.0, 200.0, gen), v_leak=torch.zeros(n_out))
    net = torch.nn.Sequential(OrderedDict([
        ("fc1", scaled_linear(n_in, n_hid, 20.0, 5.0)),
        ("lif1", nt.LIFBoxCell(p1)),  # dt defaults to 0.001
        ("fc2", scaled_linear(n_hid, n_out, 10.0)),
        ("li", nt.LIBoxCell(p2)),
    ]))
    x = bernoulli_input(14, T, (n_in,), 0.3)
    s1 = s2 = None
    z_rec, v_rec, li_rec = [], [], []
    with torch.no_grad():
        for t in range(T):
            h = net.fc1(torch.from_numpy(x[t]).unsqueeze(0))
            z, s1 = net.lif1(h, s1)
            z_rec.append(z)
            v_rec.append(s1.v)
            y, s2 = net.li(net.fc2(z), s2)
            li_rec.append(y)
    graph = nt.to_nir(net)
    write_case(case, graph, x, {"lif1": spikes_u8(z_rec)}, {"v": {"lif1": f32(v_rec)}},
               values={"li": f32(li_rec)},
               meta=dict(library="norse", library_commit=commit_of("norse"),
                         exporter="norse.torch.to_nir(net)  (time_scaling_factor=1)",
                         flavour="norse", dt=1e-3,
                         notes="LICell has no NIR mapping in norse's exporter (only LIBoxCell -> nir.LI), "
                               "so the readout is LIBoxCell. v.npz = LIFBox state.v after reset; "
                               "li.values.npy = LIBoxCell output (= its state v) at step t."))


# --------------------------------------------------------------------------
# Sinabs
# --------------------------------------------------------------------------
def sinabs_cases():
    case = "sinabs_iaf_sumpool"
    if ARGS.only and case not in ARGS.only:
        return
    import sinabs
    import sinabs.layers as sl

    T, C_in, H = 30, 2, 12
    torch.manual_seed(5)
    conv = torch.nn.Conv2d(C_in, 4, 3, padding=1)
    with torch.no_grad():
        # weights/bias on a 0.25 grid: with 0/1 inputs v_mem lands EXACTLY on the
        # threshold (1.0) now and then, which pins down the ">=" firing rule
        conv.weight.copy_(torch.round(conv.weight * 2.0 * 4) / 4)
        conv.bias.copy_(torch.round(conv.bias * 4) / 4)
    fc = scaled_linear(4 * 6 * 6, 10, 2.0)
    with torch.no_grad():  # zero-mean rows + small positive bias: balanced drift, all neurons active
        fc.weight.sub_(fc.weight.mean(dim=1, keepdim=True))
        fc.bias.fill_(0.0).add_(torch.linspace(-0.1, 0.3, 10))
    net = torch.nn.Sequential(OrderedDict([
        ("conv", conv),
        ("iaf1", sl.IAFSqueeze(batch_size=1)),
        ("pool", sl.SumPool2d(2)),
        ("flat", torch.nn.Flatten()),
        ("fc", fc),
        ("iaf2", sl.IAFSqueeze(batch_size=1, spike_threshold=torch.tensor(1.5))),
    ]))
    x = bernoulli_input(15, T, (C_in, H, H), 0.3)
    sinabs.reset_states(net)
    rec = {"iaf1": [], "iaf2": []}
    vrec = {"iaf1": [], "iaf2": []}
    with torch.no_grad():
        for t in range(T):  # one step at a time: (batch*time = 1, C, H, W)
            h = torch.from_numpy(x[t]).unsqueeze(0)
            for name, mod in net.named_children():
                h = mod(h)
                if name in rec:
                    rec[name].append(h)
                    vrec[name].append(mod.v_mem)
    # export (sinabs.to_nir runs a forward pass on the sample to size states)
    graph = sinabs.to_nir(net, torch.zeros(1, C_in, H, H))
    # sinabs.to_nir leaves Conv2d/SumPool2d/Flatten input/output types as None and
    # nir.write cannot serialise None -> fill them with NIR's own type inference.
    graph.infer_types()
    write_case(case, graph, x, {k: spikes_u8(v) for k, v in rec.items()},
               {"v": {k: f32(v) for k, v in vrec.items()}},
               meta=dict(library="sinabs", library_commit=commit_of("sinabs"),
                         exporter="sinabs.to_nir(net, torch.zeros(1, C, H, W)) + graph.infer_types()",
                         flavour="sinabs", dt=1.0,
                         notes="IAFSqueeze defaults: spike_fn=MultiSpike (spike COUNTS, uint8 here), "
                               "reset_fn=MembraneSubtract, min_v_mem=None. v.npz = v_mem after reset."))


# --------------------------------------------------------------------------
# SpikingJelly
# --------------------------------------------------------------------------
def spikingjelly_cases():
    case = "spikingjelly_if_lif"
    if ARGS.only and case not in ARGS.only:
        return
    from spikingjelly.activation_based import functional, layer, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    T, n_in = 40, 16
    torch.manual_seed(6)
    fc1 = layer.Linear(n_in, 32)
    fc2 = layer.Linear(32, 8)
    with torch.no_grad():
        # fc1 on a 0.25 grid: with 0/1 inputs the IF membrane hits v_threshold=1.0
        # exactly now and then, which pins down SpikingJelly's ">=" firing rule
        fc1.weight.copy_(torch.round(fc1.weight * 2.0 * 4) / 4)
        fc1.bias.copy_(torch.round(fc1.bias * 4) / 4)
        fc2.weight.mul_(4.0)
        fc2.bias.add_(0.3)
    net = torch.nn.Sequential(OrderedDict([
        ("fc1", fc1),
        ("if1", neuron.IFNode()),  # v_threshold=1, v_reset=0 (hard), step_mode='s'
        ("fc2", fc2),
        ("lif2", neuron.LIFNode(tau=2.0, v_threshold=0.8)),  # decay_input=True, v_reset=0
    ]))
    net.eval()  # eval -> forward uses surrogate.heaviside directly
    x = bernoulli_input(16, T, (n_in,), 0.3)
    functional.reset_net(net)
    rec = {"if1": [], "lif2": []}
    vrec = {"if1": [], "lif2": []}
    with torch.no_grad():
        for t in range(T):
            h = torch.from_numpy(x[t]).unsqueeze(0)
            for name, mod in net.named_children():
                h = mod(h)
                if name in rec:
                    rec[name].append(h)
                    vrec[name].append(mod.v)
    functional.reset_net(net)
    graph = export_to_nir(net, torch.zeros(1, n_in))  # default dt = 1e-4
    write_case(case, graph, x, {k: spikes_u8(v) for k, v in rec.items()},
               {"v": {k: f32(v) for k, v in vrec.items()}},
               meta=dict(library="spikingjelly", library_commit=commit_of("spikingjelly"),
                         exporter="spikingjelly.activation_based.nir_exchange.export_to_nir(net, torch.zeros(1, n_in))  (dt=1e-4)",
                         flavour="spikingjelly", dt=1e-4,
                         notes="v.npz = node.v after reset at step t"))


snntorch_cases()
norse_cases()
sinabs_cases()
spikingjelly_cases()

if not ARGS.only:
    MANIFEST["_sources"] = OrderedDict((lib, commit_of(lib)) for lib in LIBS)
    MANIFEST["_torch"] = torch.__version__
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
        f.write("\n")
print("wrote", OUT)
