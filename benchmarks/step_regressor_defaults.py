"""GRUStepRegressor with its default hyperparameters on two real per-step tasks.

- Sunspots (the yearly sunspot numbers 1700-2008 shipped with statsmodels, 309 values,
  standardised on the training years): windows of 20 years, the target at every step is the
  next year's value (one-step-ahead at every step, teacher forced). The first 80 % of the
  years train, windows that end in the last 20 % test (a time-ordered split, no overlap).
- Digits (scikit-learn's bundled 8x8 images): an image read row by row, the target at every
  step is the next row's 8 pixels (a vector per step). A stratified 75/25 split.

Each is scored by R² over the real steps of the test set (``score``; with several outputs
the mean of their R²) and by the mean squared error, against the mean training target (the
trivial predictor) and persistence (next year = this year; next row = this row). On digits
the uniform average of R² is dominated by the border pixels, which are almost always 0 (a
test variance of 1e-4 in the first column), so the MSE tells more there.

Run: ``python benchmarks/step_regressor_defaults.py`` (needs statsmodels for the sunspots;
``pip install statsmodels``).
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from skrnn import GRUStepRegressor


def _fit(est, X, y):
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    notes = sorted({str(w.message)[:60] for w in caught})
    return time.process_time() - start, notes


def _windows(series, window):
    n = len(series) - window
    X = np.stack([series[i: i + window] for i in range(n)])[:, :, None]
    y = np.stack([series[i + 1: i + window + 1] for i in range(n)])
    return X, y


def sunspots(random_state):
    import statsmodels.api as sm

    x = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    split = int(0.8 * len(x))
    mean, std = x[:split].mean(), x[:split].std()
    z = (x - mean) / std
    window = 20
    Xtr, ytr = _windows(z[:split], window)
    Xte, yte = _windows(z[split - window:], window)  # test targets are the last 20 % only
    est = GRUStepRegressor(random_state=random_state)
    seconds, notes = _fit(est, Xtr, ytr)
    t = yte.reshape(-1, 1)
    rows = [(est.predict(Xte).reshape(-1, 1)), np.full_like(t, ytr.mean()),
            Xte.reshape(-1, 1)]
    return ("sunspots, next year at every step", est.score(Xte, yte),
            *_scores(t, rows[1:]), _mse(t, rows[0]), est.n_iter_, seconds, notes)


def _mse(t, p):
    return float(np.mean((t - p) ** 2))


def _scores(t, baselines):
    """R² and MSE of the mean predictor and of persistence."""
    return ([r2_score(t, p) for p in baselines] + [_mse(t, p) for p in baselines])


def digits(random_state):
    images, labels = load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8) / 16.0
    X, y = images[:, :-1], images[:, 1:]  # rows 0-6 -> rows 1-7, 8 outputs per step
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=labels,
                                          random_state=0)
    est = GRUStepRegressor(random_state=random_state)
    seconds, notes = _fit(est, Xtr, ytr)
    t = yte.reshape(-1, 8)
    mean = np.broadcast_to(ytr.reshape(-1, 8).mean(axis=0), t.shape)
    return ("digits, next row (8 outputs) at every step", est.score(Xte, yte),
            *_scores(t, [mean, Xte.reshape(-1, 8)]), _mse(t, est.predict(Xte).reshape(-1, 8)),
            est.n_iter_, seconds, notes)


def main():
    print("task | seed | test R² (mean, persistence) | test MSE (mean, persistence) | "
          "epochs | CPU s")
    for task in (sunspots, digits):
        for seed in (0, 1, 2):
            name, r2, r2_mean, r2_pers, mse_mean, mse_pers, mse, n_iter, seconds, notes = \
                task(seed)
            print(f"{name} | {seed} | {r2:.3f} ({r2_mean:.3f}, {r2_pers:.3f}) | "
                  f"{mse:.4f} ({mse_mean:.4f}, {mse_pers:.4f}) | {n_iter} | {seconds:.1f}"
                  + (f" | {notes}" if notes else ""))


if __name__ == "__main__":
    main()
