"""``init="orthogonal"`` against ``init="uniform"`` (PyTorch's default) on small real data.

- Forecasting: the yearly sunspot numbers 1700-2008 shipped with statsmodels (309 values),
  windows of 20 years predicting the next, standardised on the training years; the first
  230 windows train, the last 59 test (a time-ordered split). ``LSTMRegressor`` and a GRU,
  defaults otherwise; test RMSE in sunspot units, with persistence (the last value) and
  ``Ridge`` on the 20 lags as baselines.
- Multi-step forecasting: the monthly El Niño sea surface temperature 1950-2010 shipped with
  statsmodels, 24-month windows predicting the next 6 months, standardised on 1950-1997,
  which train; windows whose targets lie after 1997 test. ``LSTMRegressor`` with a
  6-output head and ``Seq2SeqRegressor``, defaults otherwise; test RMSE in degrees C over
  all six months, with ``RidgeCV`` on the 24 lags as the baseline.
- Classification: ``load_digits`` read as 8 steps of 8 pixels with only 300 training
  sequences (stratified), tested on the other 1497; ``RNNClassifier(hidden_layer_sizes=(32,))``
  with ``cell="lstm"`` and ``"gru"``; test accuracy.

Each cell of the table is the median over ``random_state`` 0-4 [min to max]. Writes
``benchmarks/INIT.md`` (``--output``). Needs statsmodels (``pip install statsmodels``).

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/init_schemes.py
"""

import argparse
import platform
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import train_test_split

from skrnn import LSTMRegressor, RNNClassifier, Seq2SeqRegressor
from skrnn.preprocessing import make_windows

SEEDS = range(5)


def sunspots():
    import statsmodels.api as sm

    series = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    X, y = make_windows(series, window=20, horizon=1)
    n_train = 230
    mean, std = series[: n_train + 20].mean(), series[: n_train + 20].std()
    scale = lambda a: (a - mean) / std  # noqa: E731
    return scale(X[:n_train]), scale(y[:n_train]), scale(X[n_train:]), y[n_train:], mean, std


def elnino():
    import statsmodels.api as sm

    data = sm.datasets.elnino.load_pandas().data
    series = data.iloc[:, 1:].to_numpy(float).ravel()  # months of 1950, then 1951, ...
    window, H, n_train = 24, 6, 12 * 48
    mean, std = series[:n_train].mean(), series[:n_train].std()
    X, y = make_windows((series - mean) / std, window=window, horizon=range(1, H + 1))
    last_input = np.arange(len(X)) + window - 1
    train = last_input + H < n_train  # every target inside 1950-1997
    test = last_input >= n_train - 1  # every target after it
    return X[train], y[train], X[test], y[test], std


def small_digits():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0
    return train_test_split(X, y, train_size=300, stratify=y, random_state=0)


def summary(values):
    v = np.asarray(values)
    return f"{np.median(v):.3f} [{v.min():.3f} to {v.max():.3f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(Path(__file__).with_name("INIT.md")))
    args = parser.parse_args()
    rows = []
    Xtr, ytr, Xte, yte, mean, std = sunspots()
    # What a network must beat: the last value, and a ridge regression on the 20 lags.
    persistence = float(np.sqrt(np.mean((Xte[:, -1, 0] * std + mean - yte) ** 2)))
    ridge = Ridge(alpha=1.0).fit(Xtr[:, :, 0], ytr).predict(Xte[:, :, 0]) * std + mean
    baselines = (f"Sunspot baselines (test RMSE): persistence {persistence:.3f}, Ridge on the "
                 f"20 lags {float(np.sqrt(np.mean((ridge - yte) ** 2))):.3f}.")
    for cell in ("lstm", "gru"):
        scores = {}
        for init in ("orthogonal", "uniform"):
            rmse = []
            for seed in SEEDS:
                reg = LSTMRegressor(cell=cell, init=init, random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reg.fit(Xtr, ytr)
                pred = reg.predict(Xte) * std + mean
                rmse.append(float(np.sqrt(np.mean((pred - yte) ** 2))))
            scores[init] = summary(rmse)
        rows.append((f"sunspots, 230 windows, {cell}", "test RMSE (lower is better)",
                     scores["orthogonal"], scores["uniform"]))
        print(rows[-1], flush=True)
    Xtr, ytr, Xte, yte, std = elnino()
    ridge = RidgeCV().fit(Xtr[:, :, 0], ytr).predict(Xte[:, :, 0])
    baselines += (" El Niño baseline (test RMSE, degrees C): RidgeCV on the 24 lags "
                  f"{float(np.sqrt(np.mean((ridge - yte) ** 2)) * std):.3f}.")
    for name, make in (("LSTMRegressor, 6 outputs", LSTMRegressor),
                       ("Seq2SeqRegressor", Seq2SeqRegressor)):
        scores = {}
        for init in ("orthogonal", "uniform"):
            rmse = []
            for seed in SEEDS:
                reg = make(init=init, random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reg.fit(Xtr, ytr)
                rmse.append(float(np.sqrt(np.mean((reg.predict(Xte) - yte) ** 2)) * std))
            scores[init] = summary(rmse)
        rows.append((f"El Niño, 6 months ahead, {name}", "test RMSE (lower is better)",
                     scores["orthogonal"], scores["uniform"]))
        print(rows[-1], flush=True)
    Xtr, Xte, ytr, yte = small_digits()
    for cell in ("lstm", "gru"):
        scores = {}
        for init in ("orthogonal", "uniform"):
            acc = []
            for seed in SEEDS:
                clf = RNNClassifier(cell=cell, hidden_layer_sizes=(32,), init=init,
                                    random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf.fit(Xtr, ytr)
                acc.append(float(clf.score(Xte, yte)))
            scores[init] = summary(acc)
        rows.append((f"digits, 300 training sequences, {cell}", "test accuracy",
                     scores["orthogonal"], scores["uniform"]))
        print(rows[-1], flush=True)
    lines = [f"Produced by `python benchmarks/init_schemes.py` on {platform.machine()}, Python "
             f"{platform.python_version()}; median over random_state 0-4 [min to max].", "",
             "| task | metric | init=\"orthogonal\" | init=\"uniform\" |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", baselines]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
