"""Peak memory of the reservoir estimators on ragged data with extreme length mixes.

The two cases of the second reservoir issue: 499 sequences of 10 steps and one of 1000,
and 2000 sequences of one step and one of 20,000 (one feature, 100 units). A single padded
run would hold 1000 x 500 x 100 and 20,000 x 2001 x 100 states (0.4 GB and 32 GB in
float64); the chunked runs hold the output, the model and a few blocks of at most
``skrnn._reservoir_chunks.WORKING_ELEMENTS`` states. Peaks are Python-level allocations
(``tracemalloc``, which sees NumPy's buffers), in MiB; times are process CPU seconds.

The second table is the price of the block budget, on the workloads skrnn is compared on
against reservoirpy (``esn_benchmark.py``): fit and predict on one 10,000-step series at
500 and 2000 units; fit and predict on 400 sequences of 100 steps with 3 inputs at 300
and 1000 units, float64 and float32; ``EchoStateTransformer.transform`` and
``EchoStateClassifier.fit`` on the same. Each cell is process CPU seconds, median
[min-max] over interleaved rounds; then, for a budget other than the default, its time
over the default's in the same round, median [min-max]; then the ``tracemalloc`` peak in
MiB. The budget bounds the working memory, not the output or the readout's statistics (a
2000-unit fit holds several 2000 x 2000 matrices whatever the budget). A smaller budget
means more time blocks, each with its own fixed costs (the readout's statistics are merged
once per block, a pass over a units x units matrix), and narrower chunks of sequences, over
which the per-step sparse product is spread more thinly.

Run: ``python benchmarks/esn_memory.py`` (prints two markdown tables, about 12 minutes on
two cores; ``--budgets-only`` for the second, ``--repeats N`` timed rounds, default 5;
``--budgets 21 20`` and ``--only "series 2000u" "1000u float32"`` narrow it).
"""

import argparse
import os
import sys
import time
import tracemalloc

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import esn_benchmark  # noqa: E402  (the workloads compared with reservoirpy)

import skrnn._reservoir_chunks as chunks_module  # noqa: E402
from skrnn import EchoStateClassifier, EchoStateRegressor, EchoStateTransformer  # noqa: E402

#: Block budgets compared by :func:`budget_price`, in states.
BUDGETS = (2**21, 2**20, 2**19, 2**18)


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


def _budget_workloads():
    """The echo-state workloads of ``esn_benchmark.py``: name -> zero-argument call.

    Models used by ``predict`` and ``transform`` are fitted once, here. Fits keep skrnn's
    reservoir cache warm (its four entries are these four reservoirs), so their times hold
    the runs and the readout, which the budget changes, and not the eigenvalues, which it
    does not.
    """
    u, y = esn_benchmark._series()
    X1, Y1 = u[None, :, None], y[None]
    Xb, Yb = esn_benchmark._batch_data()
    labels = (Xb[:, :, 0].sum(axis=1) > 0).astype(int)
    batch = esn_benchmark.BATCH_PARAMS
    features = {k: v for k, v in batch.items() if k != "alpha"}
    calls = {}
    for units in (500, 2000):
        kw = dict(n_reservoir=units, **esn_benchmark.SERIES_PARAMS)
        model = EchoStateRegressor(**kw).fit(X1, Y1)
        calls[f"series {units}u: fit"] = lambda kw=kw: EchoStateRegressor(**kw).fit(X1, Y1)
        calls[f"series {units}u: predict"] = lambda m=model: m.predict(X1)
    for units in (300, 1000):
        for dtype in (np.float64, np.float32):
            X = Xb.astype(dtype)
            tag = f"400x100x3 {units}u{' float32' if dtype is np.float32 else ''}"
            kw = dict(n_reservoir=units, **batch)
            model = EchoStateRegressor(**kw).fit(X, Yb)
            calls[f"{tag}: fit"] = lambda kw=kw, X=X: EchoStateRegressor(**kw).fit(X, Yb)
            calls[f"{tag}: predict"] = lambda m=model, X=X: m.predict(X)
        tr = EchoStateTransformer(n_reservoir=units, **features).fit(Xb)
        calls[f"400x100x3 {units}u: transform"] = lambda tr=tr: tr.transform(Xb)
        kw = dict(n_reservoir=units, **batch)
        calls[f"400x100x3 {units}u: classifier fit"] = (
            lambda kw=kw: EchoStateClassifier(**kw).fit(Xb, labels))
    return calls


def _cpu(f):
    start = time.process_time()
    f()
    return time.process_time() - start


def budget_price(budgets=BUDGETS, repeats=5, only=None):
    """CPU time and peak of every workload under each block budget (in states).

    ``only``: keep the workloads whose name contains one of these strings.

    A first round measures the ``tracemalloc`` peaks (and warms up); then ``repeats``
    timed rounds without ``tracemalloc``. Within a round every workload runs under every
    budget in turn, the budgets in a rotated order, so machine noise hits them alike. The
    ratio is each round's time over the default budget's in that round, median [min-max].
    """
    default = chunks_module.WORKING_ELEMENTS
    calls = _budget_workloads()
    if only:
        calls = {w: c for w, c in calls.items() if any(s in w for s in only)}
    times = {(w, b): [] for w in calls for b in budgets}
    peaks = {}
    try:
        for r in range(repeats + 1):
            order = budgets[r % len(budgets):] + budgets[:r % len(budgets)]
            for w, call in calls.items():
                for b in order:
                    chunks_module.WORKING_ELEMENTS = b
                    if r == 0:
                        peaks[w, b] = _peak(call)[1]
                    else:
                        times[w, b].append(_cpu(call))
    finally:
        chunks_module.WORKING_ELEMENTS = default
    head = [f"{b:,}" + (" (default)" if b == default else "") for b in budgets]
    lines = ["| workload | " + " | ".join(head) + " |",
             "| --- |" + " --- |" * len(budgets)]
    base = default if default in budgets else budgets[0]
    for w in calls:
        cells = []
        for b in budgets:
            t = np.array(times[w, b])
            cell = f"{np.median(t):.2f} [{t.min():.2f}-{t.max():.2f}]"
            if b != base:
                q = t / np.array(times[w, base])
                cell += f" {np.median(q):.2f}x [{q.min():.2f}-{q.max():.2f}]"
            cells.append(f"{cell}, {peaks[w, b]:.1f}")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--budgets-only", action="store_true", help="the second table only")
    parser.add_argument("--budgets", type=int, nargs="+", metavar="EXPONENT",
                        help="budgets as powers of 2 (default 21 20 19 18)")
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="workloads whose name contains TEXT, e.g. 'series 2000u'")
    args = parser.parse_args()
    if not args.budgets_only:
        print(main())
        print()
    budgets = tuple(2**e for e in args.budgets) if args.budgets else BUDGETS
    print(budget_price(budgets, repeats=args.repeats, only=args.only))
