"""What a newcomer gets with the defaults: the adding problem and digits read row by row.

Two targets of the training loop, each fitted with every default except the ones named:

- the adding problem (T=60, 3000 training sequences, 1000 test sequences):
  ``LSTMRegressor(hidden_layer_sizes=(32,), max_iter=150)``, target test MSE <= 0.02
  (predicting the mean scores about 0.167); also with ``batch_size=200``, scikit-learn's
  automatic batch size, where the network stays longer on its initial plateau;
- load_digits read as 8 steps of 8 pixels (scaled to [0, 1], stratified 75/25 split,
  ``random_state=0``): ``RNNClassifier(hidden_layer_sizes=(64,), cell=...)`` for
  ``cell="lstm"`` and ``"gru"``, target test accuracy >= 0.97.

Each configuration is fitted for several values of ``random_state`` (the estimator's; the data
are fixed), and the script prints a Markdown table with the epochs run, the warnings raised
and the test score, and writes it to ``benchmarks/ACCURACY.md`` (``--output``).
``--with-mlp-rule`` adds the same fits under scikit-learn ``MLPClassifier``'s stopping rule
(no plateau gate) for comparison.

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/accuracy.py [--seeds 0 1 2]
        [--only adding|digits] [--with-mlp-rule]
"""

import argparse
import platform
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skrnn import LSTMRegressor, RNNClassifier, _training
from skrnn.datasets import make_adding_problem


def adding_data():
    X, y = make_adding_problem(3000, 60, random_state=0)
    Xt, yt = make_adding_problem(1000, 60, random_state=1)
    return X, y, Xt, yt


def digits_data():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def fit_and_score(est, X, y, Xt, yt, metric):
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    seconds = time.process_time() - t0
    kinds = sorted({"trivial" if "no better" in str(w.message) else
                    "max_iter" if "maximum iterations" in str(w.message) else
                    "diverged" if "diverged" in str(w.message) else
                    type(w.message).__name__ for w in caught})
    if metric == "mse":
        score = float(np.mean((est.predict(Xt) - yt) ** 2))
    else:
        score = float(est.score(Xt, yt))
    return est.n_iter_, ", ".join(kinds) or "-", score, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=["adding", "digits"])
    parser.add_argument("--with-mlp-rule", action="store_true")
    parser.add_argument("--output", default=str(Path(__file__).with_name("ACCURACY.md")))
    args = parser.parse_args()
    rules = ["skrnn"] + (["mlp"] if args.with_mlp_rule else [])
    rows = []
    tasks = []
    if args.only in (None, "adding"):
        tasks.append(("adding T=60, LSTMRegressor(32 units, max_iter=150)", adding_data(),
                      lambda s: LSTMRegressor(hidden_layer_sizes=(32,), max_iter=150,
                                              random_state=s), "mse"))
        # MLPClassifier's batch size, the default before batch_size="auto" became 32: fewer
        # steps per epoch, a longer plateau, where the two stopping rules part.
        tasks.append(("adding T=60, LSTMRegressor(32 units, max_iter=150, batch_size=200)",
                      adding_data(),
                      lambda s: LSTMRegressor(hidden_layer_sizes=(32,), max_iter=150,
                                              batch_size=200, random_state=s), "mse"))
    if args.only in (None, "digits"):
        for cell in ("lstm", "gru"):
            tasks.append((f"digits, RNNClassifier(64 units, cell={cell!r})", digits_data(),
                          lambda s, c=cell: RNNClassifier(hidden_layer_sizes=(64,), cell=c,
                                                          random_state=s), "accuracy"))
    for name, (X, Xt_or_y, *rest), make, metric in tasks:
        if metric == "mse":
            X, y, Xt, yt = X, Xt_or_y, rest[0], rest[1]
        else:  # train_test_split order: Xtr, Xte, ytr, yte
            X, Xt, y, yt = X, Xt_or_y, rest[0], rest[1]
        for rule in rules:
            for seed in args.seeds:
                if rule == "mlp":  # no plateau gate: scikit-learn's rule as it is
                    with mock.patch.object(_training, "PLATEAU_FRACTION", np.inf):
                        out = fit_and_score(make(seed), X, y, Xt, yt, metric)
                else:
                    out = fit_and_score(make(seed), X, y, Xt, yt, metric)
                rows.append((name, rule, seed) + out)
                print(f"{name} | {rule} | seed {seed} | epochs {out[0]} | {out[1]} | "
                      f"{metric} {out[2]:.4f} | {out[3]:.0f} s", flush=True)
    lines = [
        "Produced by `python benchmarks/accuracy.py"
        + (" --with-mlp-rule" if args.with_mlp_rule else "") + "` on "
        + f"{platform.machine()} ({platform.processor() or 'unknown CPU'}), "
        + f"Python {platform.python_version()}. Rule `skrnn`: the default stopping rule; "
        + "`mlp`: scikit-learn's rule without the plateau gate. Warnings: `max_iter` "
        + "(ConvergenceWarning at max_iter), `trivial` (no better than a model that ignores "
        + "the input), `diverged`.",
        "",
        "| task | stopping rule | random_state | epochs | warnings | test score | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, rule, seed, n_iter, warned, score, seconds in rows:
        lines.append(f"| {name} | {rule} | {seed} | {n_iter} | {warned} | {score:.4f} | "
                     f"{seconds:.0f} |")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if args.output:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
