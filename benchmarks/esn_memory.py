"""Peak memory of the reservoir estimators on ragged data with extreme length mixes.

The two cases of the second reservoir issue: 499 sequences of 10 steps and one of 1000,
and 2000 sequences of one step and one of 20,000 (one feature, 100 units). A single padded
run would hold 1000 x 500 x 100 and 20,000 x 2001 x 100 states (0.4 GB and 32 GB in
float64); the chunked runs hold the output, the model and a few blocks of at most
``skrnn._reservoir_chunks.WORKING_ELEMENTS`` states. Peaks are Python-level allocations
(``tracemalloc``, which sees NumPy's buffers), in MiB; times are process CPU seconds.

The second table is the price of the block budget: ``predict`` on 400 sequences of 100
steps (3 inputs, 1000 units) under smaller budgets, timed interleaved (median of 5 process
CPU times). The budget bounds the working memory, not the output; a budget small enough to
keep the peak within twice this output (0.3 MiB) splits the batch into narrow chunks,
and the per-step sparse product loses the width that makes it fast.

Run: ``python benchmarks/esn_memory.py`` (prints two markdown tables).
"""

import os
import time
import tracemalloc

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import skrnn._reservoir_chunks as chunks_module  # noqa: E402
from skrnn import EchoStateClassifier, EchoStateRegressor, EchoStateTransformer  # noqa: E402


def _peak(f, *args):
    tracemalloc.start()
    start = time.process_time()
    try:
        result = f(*args)
        return result, tracemalloc.get_traced_memory()[1] / 2**20, time.process_time() - start
    finally:
        tracemalloc.stop()


def _size(out):
    return (sum(o.nbytes for o in out) if isinstance(out, list) else out.nbytes) / 2**20


def main():
    rng = np.random.default_rng(0)
    cases = {
        "499 x 10 steps + 1 x 1000": [rng.standard_normal((10, 1)) for _ in range(499)]
        + [rng.standard_normal((1000, 1))],
        "2000 x 1 step + 1 x 20,000": [rng.standard_normal((1, 1)) for _ in range(2000)]
        + [rng.standard_normal((20_000, 1))],
    }
    lines = ["| case | call | peak MiB | output MiB | CPU s |", "| --- | --- | --- | --- | --- |"]
    kw = dict(n_reservoir=100, random_state=0)
    for name, X in cases.items():
        y = [x[:, 0] for x in X]
        labels = np.arange(len(X)) % 2
        reg, peak, sec = _peak(EchoStateRegressor(**kw).fit, X, y)
        rows = [("EchoStateRegressor.fit", peak, None, sec)]
        out, peak, sec = _peak(reg.predict, X)
        rows.append(("EchoStateRegressor.predict", peak, _size(out), sec))
        _, peak, sec = _peak(reg.partial_fit, X, y)
        rows.append(("EchoStateRegressor.partial_fit", peak, None, sec))
        tr = EchoStateTransformer(**kw).fit(X)
        out, peak, sec = _peak(tr.transform, X)
        rows.append(("EchoStateTransformer.transform", peak, _size(out), sec))
        _, peak, sec = _peak(EchoStateClassifier(**kw).fit, X, labels)
        rows.append(("EchoStateClassifier.fit", peak, None, sec))
        for call, peak, size, sec in rows:
            size = "" if size is None else f"{size:.2f}"
            lines.append(f"| {name} | {call} | {peak:.1f} | {size} | {sec:.2f} |")
    return "\n".join(lines)


def budget_price(budgets=(2**21, 2**19, 2**16), repeats=5):
    """Time and peak of one batch ``predict`` under each block budget (in states)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 100, 3))
    est = EchoStateRegressor(n_reservoir=1000, random_state=0).fit(X, X[:, :, 0])
    default = chunks_module.WORKING_ELEMENTS
    times = {b: [] for b in budgets}
    try:
        for _ in range(repeats):
            for b in budgets:  # interleaved, so machine noise hits every budget alike
                chunks_module.WORKING_ELEMENTS = b
                times[b].append(_peak(est.predict, X)[2])
        lines = ["| block budget (states) | predict CPU s, median [min-max] | peak MiB |",
                 "| --- | --- | --- |"]
        for b in budgets:
            chunks_module.WORKING_ELEMENTS = b
            out, peak, _ = _peak(est.predict, X)
            t = np.array(times[b])
            mark = " (default)" if b == default else ""
            lines.append(f"| {b:,}{mark} | {np.median(t):.2f} [{t.min():.2f}-{t.max():.2f}] "
                         f"| {peak:.1f} |")
    finally:
        chunks_module.WORKING_ELEMENTS = default
    lines.append(f"\nOutput: {_size(out):.2f} MiB.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
    print()
    print(budget_price())
