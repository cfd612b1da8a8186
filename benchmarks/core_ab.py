"""This checkout's recurrent core against another copy of it (A/B), with many rounds.

``benchmarks/run.py --baseline`` puts a baseline next to PyTorch with its usual 9
repetitions; on a busy machine that cannot resolve a few percent. This script times only
the two cores (no head, no optimizer): ``forward`` at inference, and ``forward`` plus
``backward`` from the final states, float32, single layer, at ``run.py``'s configurations;
every round runs both in a random order. It prints the medians and their ratio, with the
ratio's spread over rounds (each round's new / baseline, 10th to 90th percentile).

``git archive <commit> skrnn | tar -x -C /tmp/old`` then
``python benchmarks/core_ab.py /tmp/old/skrnn [--rounds 40]``.

``--torch`` adds PyTorch's same layer (same weights, no head) to every round, and the
ratios of both cores to it with their per-round spread: the many-round check of a target
that ``run.py``'s 9 repetitions put near 1. ``--cells`` and ``--passes`` select rows, e.g.
``python benchmarks/core_ab.py /tmp/old/skrnn --torch --cells lstm --passes infer
--rounds 100``.
"""

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
import run  # noqa: E402

import skrnn._bptt  # noqa: E402


def _pair(core, cell, n, T, d, h, X, dF):
    cfg = core.RecurrentConfig(cell, d, (h,))
    p = core.init_params(cfg, np.random.default_rng(0), np.float32)
    lengths = np.full(n, T)

    def infer():
        core.forward(cfg, p, X, lengths, keep_cache=False)

    def train():
        res = core.forward(cfg, p, X, lengths)
        core.backward(cfg, p, res.cache, d_final=dF)

    return {"infer": infer, "train": train, "params": p}


def _torch_pair(cell, d, h, params, X, dF):
    """PyTorch's layer with the same weights: inference, and forward plus backward from the
    final states (the same work as :func:`_pair`)."""
    import torch

    layer = getattr(torch.nn, cell.upper())(d, h)
    with torch.no_grad():
        for name, w in layer.named_parameters():
            w.copy_(torch.from_numpy(params[name]))
    Xt, dFt = torch.from_numpy(X), torch.from_numpy(dF)

    def infer():
        with torch.no_grad():
            layer(Xt)

    def train():
        layer.zero_grad()
        _, hn = layer(Xt)
        hn = hn[0] if isinstance(hn, tuple) else hn
        hn[-1].backward(dFt)

    return {"infer": infer, "train": train}


def _spread(ratios):
    lo, hi = np.percentile(ratios, [10, 90])
    return f"{lo:.2f}-{hi:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="directory of the other copy of the skrnn package")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--torch", action="store_true", help="time PyTorch's layer too")
    parser.add_argument("--cells", nargs="*", default=list(run.CELLS))
    parser.add_argument("--passes", nargs="*", default=["infer", "train"])
    args = parser.parse_args()
    base = run._load_baseline(args.baseline)
    rng = np.random.default_rng(0)
    print(f"`python benchmarks/core_ab.py {' '.join(sys.argv[1:])}`; {run.machine()}\n")
    head = ("| config | cell | pass | new ms | baseline ms | new / baseline "
            "| per-round ratio p10-p90 |")
    if args.torch:
        import torch

        torch.set_num_threads(1)
        head += (" PyTorch ms | new / PyTorch | p10-p90 | baseline / PyTorch | p10-p90 |")
    print(head)
    print("| --- " * (head.count("|") - 1) + "|")
    with threadpool_limits(1):
        for name, (n, T, d, h) in run.CONFIGS.items():
            X = rng.standard_normal((T, n, d)).astype(np.float32)
            dF = rng.standard_normal((n, h)).astype(np.float32)
            for cell in args.cells:
                fns = {"new": _pair(skrnn._bptt, cell, n, T, d, h, X, dF),
                       "base": _pair(base, cell, n, T, d, h, X, dF)}
                if args.torch:
                    fns["torch"] = _torch_pair(cell, d, h, fns["new"]["params"], X, dF)
                for what in args.passes:
                    times = {k: [] for k in fns}
                    for k in fns:
                        fns[k][what]()  # warm-up
                    for _ in range(args.rounds):
                        for k in sorted(fns, key=lambda _: rng.random()):
                            start = time.process_time()
                            fns[k][what]()
                            times[k].append(time.process_time() - start)
                    ta, tb = np.array(times["new"]) * 1e3, np.array(times["base"]) * 1e3
                    row = (f"| {name} | {cell} | {what} | {np.median(ta):.2f} | "
                           f"{np.median(tb):.2f} | {np.median(ta) / np.median(tb):.3f} | "
                           f"{_spread(ta / tb)} |")
                    if args.torch:
                        tt = np.array(times["torch"]) * 1e3
                        row += (f" {np.median(tt):.2f} | {np.median(ta) / np.median(tt):.3f} | "
                                f"{_spread(ta / tt)} | {np.median(tb) / np.median(tt):.3f} | "
                                f"{_spread(tb / tt)} |")
                    print(row, flush=True)


if __name__ == "__main__":
    main()
