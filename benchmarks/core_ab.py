"""This checkout's recurrent core against another copy of it (A/B), with many rounds.

``benchmarks/run.py --baseline`` puts a baseline next to PyTorch with its usual 9
repetitions; on a busy machine that cannot resolve a few percent. This script times only
the two cores (no head, no optimizer): ``forward`` at inference, and ``forward`` plus
``backward`` from the final states, float32, single layer, at ``run.py``'s configurations;
every round runs both in a random order. It prints the medians and their ratio, with the
ratio's spread over rounds (each round's new / baseline, 10th to 90th percentile).

``git archive <commit> skrnn | tar -x -C /tmp/old`` then
``python benchmarks/core_ab.py /tmp/old/skrnn [--rounds 40]``.
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

    return {"infer": infer, "train": train}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="directory of the other copy of the skrnn package")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    base = run._load_baseline(args.baseline)
    rng = np.random.default_rng(0)
    print(f"`python benchmarks/core_ab.py {args.baseline} --rounds {args.rounds}`; "
          f"{run.machine()}\n")
    print("| config | cell | pass | new ms | baseline ms | new / baseline "
          "| per-round ratio p10-p90 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with threadpool_limits(1):
        for name, (n, T, d, h) in run.CONFIGS.items():
            X = rng.standard_normal((T, n, d)).astype(np.float32)
            dF = rng.standard_normal((n, h)).astype(np.float32)
            for cell in run.CELLS:
                fns = {"new": _pair(skrnn._bptt, cell, n, T, d, h, X, dF),
                       "base": _pair(base, cell, n, T, d, h, X, dF)}
                for what in ("infer", "train"):
                    a, b = fns["new"][what], fns["base"][what]
                    a(), b()
                    ta, tb = [], []
                    for _ in range(args.rounds):
                        for f, out in sorted([(a, ta), (b, tb)],
                                             key=lambda _: rng.random()):
                            start = time.process_time()
                            f()
                            out.append(time.process_time() - start)
                    ta, tb = np.array(ta) * 1e3, np.array(tb) * 1e3
                    lo, hi = np.percentile(ta / tb, [10, 90])
                    print(f"| {name} | {cell} | {what} | {np.median(ta):.2f} | "
                          f"{np.median(tb):.2f} | {np.median(ta) / np.median(tb):.3f} | "
                          f"{lo:.2f}-{hi:.2f} |", flush=True)


if __name__ == "__main__":
    main()
