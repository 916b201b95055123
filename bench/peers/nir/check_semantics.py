#!/usr/bin/python3
"""Re-simulate every fixture in tests/fixtures/nir-peers/ from its .nir file
alone (numpy + h5py, no torch, no peer library) using the per-library
discretisation documented in tests/fixtures/nir-peers/README.md, and compare
per-layer spikes (and LI readout values / membrane traces) with what the
library itself produced.

    /usr/bin/python3 bench/peers/nir/check_semantics.py [--dir DIR] [-v]

Exit status 1 if any spike mismatches.

The "flavour" below is the ONLY information used besides the .nir file; it is
exactly what an importer must know about the producing library (NIR files
carry no producer tag and no dt):

  snntorch     dt = 1e-4. Euler; LIF/CubaLIF: subtractive reset by v_threshold,
               applied one step late (the spike at t lowers v at t+1), fire if
               v > thr. (reset_mechanism="zero": v_prev *= (1 - s_prev) before
               the update instead.) Exported v_reset is ignored.
  norse        dt = 1e-3. Euler; LIF: fire if v > thr, v := v_reset in the
               same step. LI: no spikes. Initial v = v_leak.
  sinabs       dt = 1 (r = 1, no time constant for IF). IF: v += r*I;
               n = floor(v / thr) spikes if v > 0 (multi-spike count);
               v -= n*thr. Exported v_reset is ignored.
  spikingjelly dt = 1e-4. Euler; fire if v >= thr (note >=), v := v_reset in the
               same step (hard reset).
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.abspath(os.path.join(HERE, "..", "..", "..", "tests", "fixtures", "nir-peers"))

# case -> (flavour, dt, options). Mirrors README.md; cross-checked against manifest.json.
CASES = {
    "snntorch_leaky": ("snntorch", 1e-4, {"reset": "subtract"}),
    "snntorch_leaky_zero": ("snntorch", 1e-4, {"reset": "zero"}),
    "snntorch_synaptic": ("snntorch", 1e-4, {"reset": "subtract"}),
    "snntorch_recurrent": ("snntorch", 1e-4, {"reset": "subtract"}),
    "norse_lifbox_li": ("norse", 1e-3, {}),
    "sinabs_iaf_sumpool": ("sinabs", 1.0, {}),
    "spikingjelly_if_lif": ("spikingjelly", 1e-4, {}),
}

NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I")


# --------------------------------------------------------------------------
# .nir reading (plain h5py)
# --------------------------------------------------------------------------
def _s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def read_nir(path):
    with h5py.File(path, "r") as f:
        g = f["node"]
        assert _s(g["type"][()]) == "NIRGraph"
        nodes = {}
        for name, grp in g["nodes"].items():
            d = {}
            for k, v in grp.items():
                if isinstance(v, h5py.Dataset):
                    d[k] = v[()]
            d["type"] = _s(d["type"])
            assert d["type"] != "NIRGraph", "nested graphs not expected here"
            nodes[name] = d
        edges = [(_s(a), _s(b)) for a, b in g["edges"][()]]
    return nodes, edges


# --------------------------------------------------------------------------
# stateless ops
# --------------------------------------------------------------------------
def conv2d(x, w, b, stride, padding, dilation, groups):
    C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    sh, sw = (int(s) for s in np.broadcast_to(stride, 2))
    ph, pw = (int(p) for p in np.broadcast_to(padding, 2))
    dh, dw = (int(d) for d in np.broadcast_to(dilation, 2))
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    Ho = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    out = np.zeros((O, Ho, Wo))
    og = O // groups
    for o in range(O):
        gi = o // og
        for c in range(Cg):
            ci = gi * Cg + c
            for i in range(KH):
                for j in range(KW):
                    out[o] += w[o, c, i, j] * xp[ci, i * dh: i * dh + sh * (Ho - 1) + 1: sh,
                                                     j * dw: j * dw + sw * (Wo - 1) + 1: sw]
    return out + np.asarray(b).reshape(-1, 1, 1)


def pool2d(x, kernel, stride, padding, mode):
    kh, kw = (int(k) for k in np.broadcast_to(kernel, 2))
    sh, sw = (int(s) for s in np.broadcast_to(stride, 2))
    ph, pw = (int(p) for p in np.broadcast_to(padding, 2))
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    C, H, W = xp.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((C, Ho, Wo))
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i: i + sh * (Ho - 1) + 1: sh, j: j + sw * (Wo - 1) + 1: sw]
    return out / (kh * kw) if mode == "avg" else out


def flatten(x, start, end):
    nd = x.ndim
    start, end = int(start) % nd, int(end) % nd
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


# --------------------------------------------------------------------------
# neuron steps (documented discretisations)
# --------------------------------------------------------------------------
class Neuron:
    def __init__(self, p, flavour, dt, opts, shape):
        self.p = {k: np.asarray(v, dtype=np.float64) for k, v in p.items() if k != "type"}
        self.t = p["type"]
        self.fl, self.dt, self.opts = flavour, dt, opts
        z = np.zeros(shape)
        if flavour == "norse":  # LIFBox/LIBox initial state: v = v_leak
            v0 = self.p.get("v_leak", z)
        elif flavour == "spikingjelly":  # BaseNode memory v starts at v_reset
            v0 = self.p.get("v_reset", z)
        else:
            v0 = z
        self.v = np.broadcast_to(v0, shape).astype(np.float64).copy()
        self.i = z.copy()
        self.s_prev = z.copy()

    def euler(self, I, types):
        """One forward-Euler step of NIR's equations for a neuron of one of `types`: the new v
        (self.i is updated for CubaLIF/CubaLI; self.v is not touched)."""
        p, dt = self.p, self.dt
        if self.t not in types:
            raise NotImplementedError(self.t)
        if self.t == "IF":
            return self.v + dt * p["r"] * I
        if self.t in ("LIF", "LI"):
            return self.v + dt / p["tau"] * (p["v_leak"] - self.v + p["r"] * I)
        self.i = self.i + dt / p["tau_syn"] * (-self.i + p["w_in"] * I)
        return self.v + dt / p["tau_mem"] * (p["v_leak"] - self.v + p["r"] * self.i)

    def step(self, I):
        p, fl = self.p, self.fl
        if self.opts.get("alt"):
            return self.alt_step(I)
        if self.t in ("LI", "CubaLI"):
            self.v = self.euler(I, ("LI", "CubaLI"))
            return self.v.copy()
        thr = p["v_threshold"]
        if fl == "snntorch":
            # reset decided from the previous step's spike (snnTorch reset_delay=True)
            if self.opts["reset"] == "zero":
                self.v = self.v * (1.0 - self.s_prev)
            v = self.euler(I, ("LIF", "CubaLIF"))
            if self.opts["reset"] == "subtract":
                v = v - thr * self.s_prev
            s = self.fire(v, thr, ">").astype(np.float64)
            self.v, self.s_prev = v, s
            return s
        if fl == "norse":
            assert self.t == "LIF"
            v = self.euler(I, ("LIF",))
            s = self.fire(v, thr, ">").astype(np.float64)
            self.v = np.where(s > 0, p["v_reset"], v)
            return s
        if fl == "sinabs":
            assert self.t == "IF"
            v = self.euler(I, ("IF",))
            n = np.where(v > 0, np.trunc(v / thr), 0.0)  # MultiSpike (v == k*thr gives k)
            if self.opts.get("flip"):  # strict: v == k*thr gives k-1
                n = np.where((v > 0) & (n * thr == v), n - 1, n)
            self.v = v - n * thr  # MembraneSubtract
            return n
        if fl == "spikingjelly":
            v = self.euler(I, ("IF", "LIF"))
            s = self.fire(v, thr, ">=").astype(np.float64)
            self.v = np.where(s > 0, p["v_reset"], v)
            return s
        raise ValueError(fl)

    def fire(self, v, thr, op):
        if self.opts.get("flip"):
            op = ">" if op == ">=" else ">="
        return v > thr if op == ">" else v >= thr

    def alt_step(self, I):
        """Plausible-but-wrong readings of the same file (for --alternatives):
        (cmp-flip, handled in step(): the documented rule with > and >= swapped)
        naive : literal NIR, forward Euler with the library dt, fire v > thr,
                same-step reset to v_reset, binary spikes, v0 = 0.
        exp   : as the documented flavour's rule shape, but integrating the
                leak exactly (a = exp(-dt/tau), v = a v + (1-a)(v_leak + r I))."""
        p, dt, alt = self.p, self.dt, self.opts["alt"]
        if alt == "exp" and self.t in ("LIF", "LI", "CubaLIF"):
            tau = p.get("tau", p.get("tau_mem"))
            a = np.exp(-dt / tau)
            if self.t == "CubaLIF":
                b = np.exp(-dt / p["tau_syn"])
                self.i = b * self.i + (1 - b) * p["w_in"] * I
                I_eff = self.i
            else:
                I_eff = I
            v = a * self.v + (1 - a) * (p["v_leak"] + p["r"] * I_eff)
            if self.t == "LI":
                self.v = v
                return v.copy()
            thr = p["v_threshold"]
            if self.fl == "snntorch":
                v = v - thr * self.s_prev if self.opts["reset"] == "subtract" else v * 1.0
                s = (v > thr).astype(np.float64)
                if self.opts["reset"] == "zero":
                    v = np.where(s > 0, 0.0, v)  # approximately; only for comparison
                self.v, self.s_prev = v, s
                return s
            s = ((v >= thr) if self.fl == "spikingjelly" else (v > thr)).astype(np.float64)
            self.v = np.where(s > 0, p["v_reset"], v)
            return s
        # naive NIR (also used for IF under "exp": IF has no tau)
        if self.t == "LI":
            self.v = self.euler(I, ("LI",))
            return self.v.copy()
        v = self.euler(I, ("IF", "LIF", "CubaLIF"))
        thr = p["v_threshold"]
        s = (v > thr).astype(np.float64)
        self.v = np.where(s > 0, p["v_reset"], v)
        return s


# --------------------------------------------------------------------------
# graph simulation
# --------------------------------------------------------------------------
def build_order(nodes, edges):
    """Edges leaving a neuron that close a cycle are 'delayed' (carry the
    neuron's output of the previous step, zeros at t=0). Everything else is
    evaluated in topological order within the step."""
    succ = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)

    def reaches(src, dst):
        seen, stack = set(), [src]
        while stack:
            n = stack.pop()
            if n == dst:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(succ[n])
        return False

    delayed = {(a, b) for a, b in edges if nodes[a]["type"] in NEURONS and reaches(b, a)}
    live = [e for e in edges if e not in delayed]
    indeg = {n: 0 for n in nodes}
    for a, b in live:
        indeg[b] += 1
    order, ready = [], sorted(n for n in nodes if indeg[n] == 0)
    while ready:
        n = ready.pop(0)
        order.append(n)
        for a, b in live:
            if a == n:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    assert len(order) == len(nodes), "graph still cyclic after cutting neuron back-edges"
    return order, delayed


def simulate(nodes, edges, x, flavour, dt, opts):
    order, delayed = build_order(nodes, edges)
    preds = {n: [a for a, b in edges if b == n] for n in nodes}
    state, prev = {}, {}
    rec = {n: [] for n in nodes if nodes[n]["type"] in NEURONS}
    vrec = {n: [] for n in rec}
    for t in range(x.shape[0]):
        cur = {}
        for n in order:
            nd = nodes[n]
            ty = nd["type"]
            if ty == "Input":
                cur[n] = x[t].astype(np.float64).reshape(tuple(nd["shape"]))
                continue
            # delayed (recurrent) edges read the source neuron's previous output, zeros at t=0
            ins = [(prev[a] if t > 0 else np.zeros(neuron_shape(nodes[a]))) if (a, n) in delayed
                   else cur[a] for a in preds[n]]
            I = ins[0] if len(ins) == 1 else np.sum(ins, axis=0)
            if ty == "Affine":
                out = nd["weight"].astype(np.float64) @ I.reshape(-1) + nd["bias"]
            elif ty == "Linear":
                out = nd["weight"].astype(np.float64) @ I.reshape(-1)
            elif ty == "Conv2d":
                out = conv2d(I, nd["weight"].astype(np.float64), nd["bias"], nd["stride"], nd["padding"],
                             nd["dilation"], int(nd["groups"]))
            elif ty == "SumPool2d":
                out = pool2d(I, nd["kernel_size"], nd["stride"], nd["padding"], "sum")
            elif ty == "AvgPool2d":
                out = pool2d(I, nd["kernel_size"], nd["stride"], nd["padding"], "avg")
            elif ty == "Flatten":
                out = flatten(I, nd["start_dim"], nd["end_dim"])
            elif ty == "Output":
                out = I
            elif ty in NEURONS:
                if n not in state:
                    state[n] = Neuron(nd, flavour, dt, opts, I.shape)
                out = state[n].step(I)
                rec[n].append(out.reshape(-1).copy())
                vrec[n].append(state[n].v.reshape(-1).copy())
            else:
                raise NotImplementedError(ty)
            cur[n] = out
        prev = cur
    return {n: np.array(v) for n, v in rec.items()}, {n: np.array(v) for n, v in vrec.items()}


def neuron_shape(nd):
    for k in ("v_threshold", "tau", "tau_mem", "r"):
        if k in nd:
            return np.shape(nd[k])
    raise ValueError("cannot infer the output shape of a delayed source")


def load_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=DEFAULT_DIR)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--alternatives", action="store_true",
                    help="also report mismatches of plausible wrong discretisations")
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    total_bad = 0
    print(f"{'case':24s} {'node':12s} {'shape':>10s} {'spikes':>7s} {'mismatch':>8s} {'max|dv|':>9s}")
    for case, (flavour, dt, opts) in CASES.items():
        m = manifest[case]
        assert m["flavour"] == flavour and abs(m["dt"] - dt) < 1e-15, (case, m["flavour"], m["dt"])
        nodes, edges = read_nir(os.path.join(args.dir, case + ".nir"))
        x = np.load(os.path.join(args.dir, case + ".input.npy"))
        sim, simv = simulate(nodes, edges, x, flavour, dt, opts)
        ref = load_npz(os.path.join(args.dir, case + ".spikes.npz"))
        vref = load_npz(os.path.join(args.dir, case + ".v.npz"))
        for node, r in ref.items():
            s = sim[node]
            bad = int(np.sum(s != r.astype(np.float64)))
            total_bad += bad
            dv = float(np.max(np.abs(simv[node] - vref[node]))) if node in vref else np.nan
            print(f"{case:24s} {node:12s} {str(r.shape):>10s} {int(r.sum()):7d} {bad:8d} {dv:9.2e}")
            if bad and args.verbose:
                ts, ns = np.nonzero(s != r)
                print("    first mismatches (t, neuron):", list(zip(ts[:10].tolist(), ns[:10].tolist())))
        for node in m["value_nodes"]:
            vals = np.load(os.path.join(args.dir, f"{case}.{node}.values.npy"))
            err = float(np.max(np.abs(sim[node] - vals)))
            rel = err / max(1e-12, float(np.max(np.abs(vals))))
            print(f"{case:24s} {node:12s} {str(vals.shape):>10s} {'LI':>7s} {'-':>8s} {err:9.2e}  (rel {rel:.1e})")
    print(f"TOTAL spike mismatches: {total_bad}")
    if args.alternatives:
        print()
        print("Sensitivity: spike mismatches of WRONG discretisations (should be > 0)")
        print(f"{'case':24s} {'node':12s} {'naive-NIR':>10s} {'exp-decay':>10s} {'cmp-flip':>10s}")
        for case, (flavour, dt, opts) in CASES.items():
            nodes, edges = read_nir(os.path.join(args.dir, case + ".nir"))
            x = np.load(os.path.join(args.dir, case + ".input.npy"))
            ref = load_npz(os.path.join(args.dir, case + ".spikes.npz"))
            res = {}
            for alt in ("naive", "exp"):
                res[alt], _ = simulate(nodes, edges, x, flavour, dt, dict(opts, alt=alt))
            res["flip"], _ = simulate(nodes, edges, x, flavour, dt, dict(opts, flip=True))
            for node, r in ref.items():
                print(f"{case:24s} {node:12s} {int(np.sum(res['naive'][node] != r)):10d} "
                      f"{int(np.sum(res['exp'][node] != r)):10d} {int(np.sum(res['flip'][node] != r)):10d}")
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
