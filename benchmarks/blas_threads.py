"""What NumPy's BLAS threads do to a fit: one thread against all the machine's cores.

skrnn's per-step products are small (``4h x (h + d + 1)`` by ``(h + d + 1) x batch`` for
an LSTM): a multithreaded BLAS splits each of them across cores and synchronises its threads
at every time step. This script fits the same estimator under ``threadpool_limits(1)`` and
under the BLAS's own thread count, interleaved, and reports wall-clock seconds (threads
only help the wall clock) and process CPU seconds, medians [min-max] over the rounds. Run
it on an otherwise idle machine, and again with the other cores loaded (``--load N`` starts
N busy processes) to see what a shared machine does to threaded BLAS.

Run: ``python benchmarks/blas_threads.py [--rounds 5] [--load 0]``.
"""

import argparse
import multiprocessing
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from skrnn import RNNClassifier

# (name, n_sequences, n_timesteps, n_features, hidden, batch_size)
CASES = [
    ("digits-sized LSTM", 1347, 8, 8, 64, 64),
    ("config B LSTM", 512, 100, 16, 128, 64),
    ("wide LSTM", 512, 50, 32, 512, 128),
]


def _busy():
    while True:
        pass


def _fit(case, threads):
    _, n, T, d, h, batch = case
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, T, d)).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    est = RNNClassifier(cell="lstm", hidden_layer_sizes=(h,), batch_size=batch, max_iter=1,
                        random_state=0)
    with threadpool_limits(threads, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wall, cpu = time.perf_counter(), time.process_time()
        est.fit(X, y)
        return time.perf_counter() - wall, time.process_time() - cpu


def _fmt(v):
    v = np.asarray(v)
    return f"{np.median(v):.2f} [{v.min():.2f}-{v.max():.2f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--load", type=int, default=0,
                        help="busy processes to start on the other cores")
    args = parser.parse_args()
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    many = max(i["num_threads"] for i in blas)
    workers = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for w in workers:
        w.start()
    try:
        print(f"BLAS: {', '.join(i['internal_api'] + ' ' + i['version'] for i in blas)}; "
              f"its own thread count {many}; {args.load} busy processes; one epoch of "
              "RNNClassifier(cell='lstm') in float32.\n")
        print(f"| case | wall s, 1 thread | wall s, {many} threads | CPU s, 1 thread "
              f"| CPU s, {many} threads |")
        print("| --- | --- | --- | --- | --- |")
        for case in CASES:
            res = {1: [], many: []}
            for _ in range(args.rounds):
                for threads in (1, many):
                    res[threads].append(_fit(case, threads))
            one, all_ = np.array(res[1]), np.array(res[many])
            print(f"| {case[0]} | {_fmt(one[:, 0])} | {_fmt(all_[:, 0])} | "
                  f"{_fmt(one[:, 1])} | {_fmt(all_[:, 1])} |", flush=True)
    finally:
        for w in workers:
            w.terminate()


if __name__ == "__main__":
    main()
