"""skrnn against PyTorch (CPU) on the same models, data, weights and thread count.

Sections (``--only`` selects some):
- ``step``: one training step (forward over the sequence, linear head on the last state,
  cross-entropy, backward, Adam) and one inference pass, float32, rnn/lstm/gru, single
  layer, at configs A-D (batch, T, inputs, hidden);
- ``overhead``: one epoch inside ``RNNClassifier.fit`` against the same raw core steps;
- ``memory``: peak traced memory of one LSTM training step at T=1000 against the
  activations BPTT must keep;
- ``fit``: what a user sees: ``RNNClassifier(cell="lstm", hidden_layer_sizes=(128,),
  batch_size=64, max_iter=2).fit`` on float64 ``X`` of shape (512, 100, 16), with
  ``dtype=None`` (float64, the default) and ``dtype="float32"``, against the same two
  epochs in PyTorch float32;
- ``esn``: ``benchmarks/esn_benchmark.py`` (skrnn against reservoirpy).

Timing is process CPU time, one thread each (threadpoolctl for NumPy's BLAS,
``torch.set_num_threads(1)``), skrnn and PyTorch interleaved (every round runs each once,
in a new random order), medians with min/max. Run ``python benchmarks/run.py [--quick]``;
it writes ``benchmarks/RESULTS.md``.

``--baseline DIR`` also times another copy of the package (a directory holding its
``__init__.py``, e.g. ``git archive <commit> skrnn | tar -x -C /tmp/old`` then
``--baseline /tmp/old/skrnn``) in the same interleaved rounds of the ``step`` section, to
compare two versions of the core on the same machine at the same time.
Needs ``pip install -e ".[benchmark]"`` and ``pip install torch==2.13.0``.
"""

import argparse
import datetime
import importlib
import importlib.util
import os
import platform
import sys
import time
import tracemalloc
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import skrnn._bptt
from skrnn import RNNClassifier
from skrnn._bptt import RecurrentConfig, backward, forward, init_params
from skrnn._losses import log_loss
from skrnn._optimizers import AdamOptimizer

CONFIGS = {"A": (32, 50, 8, 64), "B": (64, 100, 16, 128), "C": (128, 30, 32, 256),
           "D": (256, 20, 8, 32)}
CELLS = ("rnn", "lstm", "gru")
N_CLASSES = 10
# skrnn time / PyTorch time at or under which a row is "met": parity everywhere.
TARGETS = {"train": 1.0, ("infer", "rnn"): 1.0, ("infer", "gru"): 1.0,
           ("infer", "lstm"): 1.0}


def _stats(values):
    v = np.asarray(values) * 1e3
    return float(np.median(v)), float(v.min()), float(v.max())


def _fmt(values):
    med, lo, hi = _stats(values)
    return f"{med:.2f} [{lo:.2f}-{hi:.2f}]"


def _load_baseline(path):
    """The ``_bptt`` module of the package in directory ``path``, imported as
    ``skrnn_baseline`` next to this checkout's ``skrnn``."""
    spec = importlib.util.spec_from_file_location(
        "skrnn_baseline", os.path.join(path, "__init__.py"),
        submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules["skrnn_baseline"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("skrnn_baseline._bptt")


class _SkrnnModel:
    """The core with a linear head, cross-entropy and Adam, as the estimator trains it.

    ``core`` is the ``_bptt`` module to run (this checkout's, or a baseline's).
    """

    def __init__(self, cell, d, h, rng, core=skrnn._bptt):
        self.core = core
        self.cfg = core.RecurrentConfig(cell, d, (h,))
        self.p = core.init_params(self.cfg, rng, np.float32)
        bound = np.sqrt(6.0 / (h + N_CLASSES))
        self.p["output.weight"] = rng.uniform(-bound, bound, (N_CLASSES, h)).astype(
            np.float32)
        self.p["output.bias"] = np.zeros(N_CLASSES, np.float32)
        self.names = list(self.p)
        self.opt = AdamOptimizer([self.p[k] for k in self.names])

    def train_step(self, X, lengths, y, w):
        res = self.core.forward(self.cfg, self.p, X, lengths)
        W_out = self.p["output.weight"]
        Z = res.final_states @ W_out.T + self.p["output.bias"]
        _, dZ = log_loss(Z, y, w)
        grads = self.core.backward(self.cfg, self.p, res.cache, d_final=dZ @ W_out)
        grads["output.weight"] = dZ.T @ res.final_states
        grads["output.bias"] = dZ.sum(axis=0)
        self.opt.update_params([self.p[k] for k in self.names], [grads[k] for k in self.names])

    def infer(self, X, lengths):
        res = self.core.forward(self.cfg, self.p, X, lengths, keep_cache=False)
        return res.final_states @ self.p["output.weight"].T + self.p["output.bias"]


def _torch_model(cell, d, h, ours):
    import torch

    rnn = getattr(torch.nn, cell.upper())(d, h)
    head = torch.nn.Linear(h, N_CLASSES)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(ours.p[name]))
        head.weight.copy_(torch.from_numpy(ours.p["output.weight"]))
        head.bias.copy_(torch.from_numpy(ours.p["output.bias"]))
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)

    def train_step(X, y):
        opt.zero_grad()
        _, hn = rnn(X)
        hn = hn[0] if isinstance(hn, tuple) else hn
        torch.nn.functional.cross_entropy(head(hn[-1]), y).backward()
        opt.step()

    def infer(X):
        with torch.no_grad():
            _, hn = rnn(X)
            hn = hn[0] if isinstance(hn, tuple) else hn
            return head(hn[-1])

    return train_step, infer


def _interleaved(fns, repeats):
    """Process CPU times of each function, all run once per round after a warm-up.

    Each round runs them in a new (seeded) random order, so that no function always
    follows the same neighbour: what ran just before leaves the caches warm or cold.
    """
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    keys = list(fns)
    order_rng = np.random.default_rng(12345)
    for _ in range(repeats):
        for i in order_rng.permutation(len(keys)):
            start = time.process_time()
            fns[keys[i]]()
            times[keys[i]].append(time.process_time() - start)
    return times


def _step_config(cell, n, T, d, h, repeats, baseline=None):
    import torch

    rng = np.random.default_rng(0)
    X = rng.standard_normal((T, n, d)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, n)
    lengths, w = np.full(n, T), np.ones(n, np.float32)
    ours = _SkrnnModel(cell, d, h, rng)
    t_train, t_infer = _torch_model(cell, d, h, ours)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    fns = {
        ("skrnn", "train"): lambda: ours.train_step(X, lengths, y, w),
        ("torch", "train"): lambda: t_train(Xt, yt),
        ("skrnn", "infer"): lambda: ours.infer(X, lengths),
        ("torch", "infer"): lambda: t_infer(Xt),
    }
    if baseline is not None:  # same weights: the models start from the same rng state
        base = _SkrnnModel(cell, d, h, np.random.default_rng(0), core=baseline)
        base.p = {k: v.copy() for k, v in ours.p.items()}
        base.opt = AdamOptimizer([base.p[k] for k in base.names])
        fns[("baseline", "train")] = lambda: base.train_step(X, lengths, y, w)
        fns[("baseline", "infer")] = lambda: base.infer(X, lengths)
    return _interleaved(fns, repeats)


def bench_steps(repeats, baseline=None):
    import torch

    torch.set_num_threads(1)
    rows = []
    for name, (n, T, d, h) in CONFIGS.items():
        for cell in CELLS:
            times = _step_config(cell, n, T, d, h, repeats, baseline)
            for what in ("train", "infer"):
                a, b = times[("skrnn", what)], times[("torch", what)]
                ratio = _stats(a)[0] / _stats(b)[0]
                target = TARGETS["train"] if what == "train" else TARGETS[("infer", cell)]
                row = [name, cell, what, _fmt(a), _fmt(b), ratio, target]
                if baseline is not None:
                    c = times[("baseline", what)]
                    row += [_fmt(c), _stats(c)[0] / _stats(b)[0], _stats(a)[0] / _stats(c)[0]]
                rows.append(tuple(row))
    return rows


def _overhead_config(cell, n, T, d, h, repeats, epochs, n_batches=8):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n * n_batches, T, d)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, n * n_batches)
    Xt = np.ascontiguousarray(X.transpose(1, 0, 2))
    lengths, w = np.full(n, T), np.ones(n, np.float32)
    ours = _SkrnnModel(cell, d, h, rng)

    def fit(k):
        RNNClassifier(cell=cell, hidden_layer_sizes=(h,), batch_size=n, max_iter=k,
                      shuffle=False, tol=0.0, n_iter_no_change=10**6, alpha=0.0,
                      random_state=0).fit(X, y)

    def epoch_of_fit():  # fit(epochs + 1) - fit(1): the one-time setup cancels out
        start = time.process_time()
        fit(epochs + 1)
        mid = time.process_time()
        fit(1)
        return ((mid - start) - (time.process_time() - mid)) / epochs

    def raw_epoch():
        start = time.process_time()
        for b in range(n_batches):
            ours.train_step(Xt[:, b * n:(b + 1) * n], lengths, y[b * n:(b + 1) * n], w)
        return time.process_time() - start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw_epoch()
        a, b = [], []
        for _ in range(repeats):
            a.append(epoch_of_fit())
            b.append(raw_epoch())
    return a, b


def bench_overhead(repeats, epochs=5):
    """Per-epoch time of RNNClassifier.fit against the same raw core steps."""
    rows = []
    for name in ("A", "D"):
        n, T, d, h = CONFIGS[name]
        for cell in CELLS:
            a, b = _overhead_config(cell, n, T, d, h, repeats, epochs)
            # Each repetition's fit epoch over the raw epoch measured right after it: the
            # ratio of neighbours is steadier on a shared machine than a ratio of medians.
            paired = np.asarray(a) / np.asarray(b) - 1
            over = (f"{np.median(paired) * 100:+.1f}% "
                    f"[{paired.min() * 100:+.1f}% to {paired.max() * 100:+.1f}%]")
            rows.append((name, cell, _fmt(a), _fmt(b), over))
    return rows


def bench_memory(T=1000, n=32, d=8, h=64):
    """Peak traced memory of one LSTM training step versus the activations it must keep."""
    rng = np.random.default_rng(0)
    cfg = RecurrentConfig("lstm", d, (h,))
    p = init_params(cfg, rng, np.float32)
    X = rng.standard_normal((T, n, d)).astype(np.float32)
    dR = np.ones((n, h), np.float32)
    forward(cfg, p, X[:5], np.full(n, 5))
    tracemalloc.start()
    res = forward(cfg, p, X, np.full(n, T))
    backward(cfg, p, res.cache, d_final=dR)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # What BPTT must keep per step: 4 gate activations, cell state, hidden state, tanh(c).
    activations = T * n * (4 * h + 3 * h) * 4
    return peak, activations


def bench_user_fit(repeats, n=512, T=100, d=16, h=128, batch=64, epochs=2):
    """Process CPU time of a user's fit in both dtypes and of PyTorch's float32 epochs."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, T, d))  # float64, NumPy's default
    y = rng.integers(0, N_CLASSES, n)
    rnn, head = torch.nn.LSTM(d, h), torch.nn.Linear(h, N_CLASSES)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    Xt = torch.from_numpy(np.ascontiguousarray(X.transpose(1, 0, 2)).astype(np.float32))
    yt = torch.from_numpy(y)

    def torch_fit():
        for _ in range(epochs):
            for perm in np.array_split(rng.permutation(n), n // batch):
                opt.zero_grad()
                _, (hn, _) = rnn(Xt[:, perm])
                torch.nn.functional.cross_entropy(head(hn[-1]), yt[perm]).backward()
                opt.step()

    def skrnn_fit(dtype):
        RNNClassifier(cell="lstm", hidden_layer_sizes=(h,), batch_size=batch,
                      max_iter=epochs, random_state=0, dtype=dtype).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 does not converge
        return _interleaved({"float64": lambda: skrnn_fit(None),
                             "float32": lambda: skrnn_fit("float32"),
                             "torch": torch_fit}, repeats)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import scipy
    import torch

    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                     for i in threadpool_info())
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, SciPy {scipy.__version__}, PyTorch {torch.__version__}; "
            f"BLAS: {blas}; environment {env}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", nargs="*",
                        default=["step", "overhead", "memory", "fit", "esn"])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "RESULTS.md"))
    parser.add_argument("--baseline", default=None,
                        help="directory of another copy of the skrnn package to time too")
    args = parser.parse_args()
    baseline = None if args.baseline is None else _load_baseline(args.baseline)
    repeats = 3 if args.quick else 9
    out = ["# Benchmark results", "",
           f"`python benchmarks/run.py{''.join(' ' + a for a in sys.argv[1:])}` on "
           f"{datetime.date.today()}; {machine()}.", "",
           "Process CPU time, one thread for each library, skrnn and PyTorch interleaved; "
           f"{repeats} repetitions, median [min-max] in ms; ratio = skrnn / PyTorch medians.",
           ""]
    with threadpool_limits(1):
        if "step" in args.only:
            rows = bench_steps(repeats, baseline)
            head = ("| config (batch, T, in, hidden) | cell | pass | skrnn ms | PyTorch ms "
                    "| ratio | target |")
            rule = "| --- | --- | --- | --- | --- | --- | --- |"
            if baseline is not None:
                out += [f"Baseline: the package in `{args.baseline}`, timed in the same "
                        "interleaved rounds; skrnn / baseline is the ratio of medians.", ""]
                head += " baseline ms | baseline ratio | skrnn / baseline |"
                rule += " --- | --- | --- |"
            out += ["## Training step and inference (float32, single layer)", "", head, rule]
            for name, cell, what, a, b, ratio, target, *base in rows:
                mark = "met" if ratio <= target else "MISSED"
                line = (f"| {name} {CONFIGS[name]} | {cell} | {what} | {a} | {b} | "
                        f"{ratio:.2f} | <= {target} {mark} |")
                if base:
                    line += f" {base[0]} | {base[1]:.2f} | {base[2]:.3f} |"
                out.append(line)
            out.append("")
            print("\n".join(out), flush=True)
        if "overhead" in args.only:
            rows = bench_overhead(max(5, repeats), epochs=10)
            out += ["## fit overhead over raw core steps (one epoch of 8 batches)", "",
                    "| config | cell | epoch inside fit ms | raw core steps ms "
                    "| overhead (median of paired ratios [min to max]) |",
                    "| --- | --- | --- | --- | --- |"]
            for name, cell, a, b, over in rows:
                out.append(f"| {name} | {cell} | {a} | {b} | {over} |")
            out.append("")
        if "memory" in args.only:
            peak, act = bench_memory()
            out += ["## Training memory at T=1000 (LSTM, batch 32, inputs 8, hidden 64)", "",
                    "Activations BPTT must keep: T x batch x (4 gates + c + h + tanh c) x "
                    f"hidden x 4 bytes = {act / 2**20:.1f} MiB; peak traced memory of one "
                    f"training step: {peak / 2**20:.1f} MiB; ratio {peak / act:.2f} "
                    "(target <= 1.5).", ""]
        if "fit" in args.only:
            times = bench_user_fit(max(3, repeats // 2))
            torch_med = _stats(times["torch"])[0]
            out += ["## A user's fit: LSTM classifier on float64 X (512, 100, 16), 2 epochs",
                    "", "| run | ms | ratio to PyTorch float32 |", "| --- | --- | --- |"]
            for key, label in (("float64", 'skrnn, dtype=None (float64)'),
                               ("float32", 'skrnn, dtype="float32"'),
                               ("torch", "PyTorch float32")):
                out.append(f"| {label} | {_fmt(times[key])} | "
                           f"{_stats(times[key])[0] / torch_med:.2f} |")
            out.append("")
    if "esn" in args.only:
        sys.path.insert(0, os.path.dirname(__file__))
        import esn_benchmark

        out += [esn_benchmark.main(quick=args.quick), ""]
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
