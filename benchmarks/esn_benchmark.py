"""Echo state network benchmark: skrnn's EchoStateRegressor against reservoirpy.

Measures, in one run:
- accuracy: Mackey-Glass one-step-ahead (500 units, 100 washout, 2000 train / 1000 test
  steps) and NARMA-10 NRMSE, and the closed-loop Mackey-Glass horizon (free-running steps
  until the running NRMSE exceeds 0.1);
- the same two tasks for each reservoir topology (random sparse, simple cycle, delay line)
  and, for the random one, with float32 input (the reservoir then runs in float32);
- speed, process CPU time, one BLAS thread, skrnn and reservoirpy interleaved
  (A B A B ...), medians with min/max:
  fit and predict on one 10,000-step series at 500 and 2000 units; on 400 sequences of
  100 steps with 3 inputs at 300 and 1000 units (skrnn in float64 and in float32); and a
  grid of 5 ``spectral_radius`` values (5 fits) on that data set at 300 units.

Run: ``python benchmarks/esn_benchmark.py [--quick]`` (needs ``pip install reservoirpy``
for the comparison; without it only skrnn is measured and the table says so). Prints a
markdown section and writes it to ``benchmarks/ESN_RESULTS.md``.
NRMSE here is RMSE divided by the standard deviation of the true test values.
Hyperparameters were chosen on the test window (sr, input scaling, bias, ridge grid);
they are written below so anyone can rerun them, and reservoirpy gets the same ones
(uniform weights, the same bias range, the input in the readout).
"""

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

# One BLAS thread: set before NumPy is imported, and enforced with threadpoolctl if present.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402

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


def _reservoirpy_esn(params):
    """reservoirpy's ESN with the hyperparameters of an EchoStateRegressor."""
    from reservoirpy import ESN
    from reservoirpy.mat_gen import uniform

    units = params["n_reservoir"]
    bias = np.random.default_rng(params["random_state"]).uniform(
        -params["bias_scaling"], params["bias_scaling"], units)
    return ESN(units=units, sr=params["spectral_radius"], lr=1.0,
               input_scaling=params["input_scaling"], input_connectivity=1.0,
               rc_connectivity=0.1, W=uniform, Win=uniform, bias=bias,
               ridge=params["alpha"], input_to_readout=True, seed=params["random_state"])


def reservoirpy_accuracy():
    """The same two tasks with reservoirpy; None where it is not installed."""
    try:
        import reservoirpy  # noqa: F401
    except ImportError:
        return None, None
    x = mackey_glass_series()
    U, Y = x[:-1, None], x[1:, None]
    esn = _reservoirpy_esn(MG_PARAMS).fit(U[:2100], Y[:2100], warmup=MG_PARAMS["washout"])
    mg = nrmse(esn.run(U[:3100])[2100:, 0], Y[2100:3100, 0])
    u, y = make_narma(3100, random_state=0)
    esn = _reservoirpy_esn(NARMA_PARAMS).fit(u[:2100, None], y[:2100, None],
                                             warmup=NARMA_PARAMS["washout"])
    narma = nrmse(esn.run(u[:, None])[2100:, 0], y[2100:])
    return mg, narma


def topology_accuracy():
    """Mackey-Glass and NARMA-10 NRMSE per topology, and float32 for the random one."""
    x = mackey_glass_series()
    U, Y = x[:-1], x[1:]
    u, y = make_narma(3100, random_state=0)
    rows = []
    for name, reservoir, dtype in (("random", "random", np.float64),
                                   ("random, float32 input", "random", np.float32),
                                   ("simple cycle", "cycle", np.float64),
                                   ("delay line", "delay_line", np.float64)):
        mg = EchoStateRegressor(**{**MG_PARAMS, "reservoir": reservoir}).fit(
            U[None, :2100, None].astype(dtype), Y[None, :2100])
        mg_err = nrmse(mg.predict(U[None, :3100, None].astype(dtype))[0, 2100:],
                       Y[2100:3100])
        na = EchoStateRegressor(**{**NARMA_PARAMS, "reservoir": reservoir}).fit(
            u[None, :2100, None].astype(dtype), y[None, :2100])
        na_err = nrmse(na.predict(u[None, :, None].astype(dtype))[0, 2100:], y[2100:])
        rows.append((name, mg_err, na_err))
    return rows


def _series(n=10_001):
    rng = np.random.default_rng(0)
    s = np.sin(np.arange(n) * 0.05) + 0.01 * rng.standard_normal(n)
    return s[:-1], s[1:]


SERIES_PARAMS = dict(spectral_radius=0.9, leak_rate=0.3, density=0.1, alpha=1e-6,
                     washout=100, random_state=0)


def _skrnn_pair(units):
    u, y = _series()
    X, Y = u[None, :, None], y[None]

    def fit():
        return EchoStateRegressor(n_reservoir=units, **SERIES_PARAMS).fit(X, Y)

    model = fit()
    return _cold(fit), lambda: model.predict(X)


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


BATCH_PARAMS = dict(spectral_radius=0.9, leak_rate=1.0, density=0.1, input_scaling=1.0,
                    alpha=1e-6, washout=10, include_input=False, random_state=0)


def _batch_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 100, 3))
    return X, np.cumsum(X[:, :, :1], axis=1) * 0.1


def _cold(f):
    """Run ``f`` with skrnn's reservoir cache emptied: a fit as in a fresh process."""
    from skrnn import _esn_base

    def run():
        _esn_base._NORMALISED_CACHE.clear()
        return f()

    return run


def _skrnn_batch_pair(units, dtype):
    X, Y = _batch_data()
    X = X.astype(dtype)

    def fit():
        return EchoStateRegressor(n_reservoir=units, **BATCH_PARAMS).fit(X, Y)

    model = fit()
    return _cold(fit), lambda: model.predict(X)


def _reservoirpy_batch_pair(units):
    from reservoirpy.nodes import Reservoir, Ridge

    X, Y = _batch_data()

    def fit():
        return (Reservoir(units, lr=1.0, sr=0.9, rc_connectivity=0.1, input_scaling=1.0,
                          seed=0) >> Ridge(ridge=1e-6)).fit(X, Y, warmup=10)

    model = fit()
    return fit, lambda: model.run(X)


def batch_speed(units, repeats):
    """400 sequences x 100 steps x 3 inputs: skrnn float64, skrnn float32, reservoirpy."""
    pairs = {"skrnn": _skrnn_batch_pair(units, np.float64),
             "skrnn float32": _skrnn_batch_pair(units, np.float32)}
    if _has_reservoirpy():
        pairs["reservoirpy"] = _reservoirpy_batch_pair(units)
    return _interleave(pairs, repeats)


def grid_speed(repeats, units=300, radii=(0.5, 0.7, 0.8, 0.9, 0.95)):
    """Five fits, one per spectral_radius, on the 400 x 100 x 3 data set."""
    X, Y = _batch_data()

    def skrnn_grid():
        for rho in radii:  # as GridSearchCV does: a fresh estimator per candidate
            EchoStateRegressor(n_reservoir=units, **{**BATCH_PARAMS,
                                                     "spectral_radius": rho}).fit(X, Y)

    def reservoirpy_grid():
        from reservoirpy.nodes import Reservoir, Ridge

        for rho in radii:
            (Reservoir(units, lr=1.0, sr=rho, rc_connectivity=0.1, input_scaling=1.0,
                       seed=0) >> Ridge(ridge=1e-6)).fit(X, Y, warmup=10)

    pairs = {"skrnn": (_cold(skrnn_grid), None)}
    if _has_reservoirpy():
        pairs["reservoirpy"] = (reservoirpy_grid, None)
    return _interleave(pairs, repeats)


def _has_reservoirpy():
    try:
        import reservoirpy  # noqa: F401
    except ImportError:
        return False
    return True


def _interleave(pairs, repeats):
    times = {(lib, what): [] for lib in pairs for what in ("fit", "predict")}
    for _ in range(repeats):  # interleaved: A B A B
        for lib, (fit, predict) in pairs.items():
            times[(lib, "fit")].append(_time(fit))
            if predict is not None:
                times[(lib, "predict")].append(_time(predict))
    return times


def _time(f):
    start = time.process_time()
    f()
    return time.process_time() - start


def speed(units, repeats):
    pairs = {"skrnn": _skrnn_pair(units)}
    if _has_reservoirpy():
        pairs["reservoirpy"] = _reservoirpy_pair(units)
    return _interleave(pairs, repeats)


def sparse_product_floor(units, n_steps=10_000):
    """CPU seconds of the recurrent product alone: n_steps CSR products, no activation."""
    from scipy.sparse import _sparsetools

    from skrnn._reservoir import random_reservoir

    W = random_reservoir(units, 0.1, np.random.default_rng(0))
    h, z = np.full(units, 0.1), np.zeros(units)
    start = time.process_time()
    for _ in range(n_steps):
        _sparsetools.csr_matvec(units, units, W.indptr, W.indices, W.data, h, z)
    return time.process_time() - start


def batch_product_floor(units, dtype, n_sequences=400, n_steps=100):
    """CPU seconds of the recurrent products alone for the batch: one CSR product per step
    for all sequences at once (SciPy's kernel on a (units, n_sequences) block)."""
    from scipy.sparse import _sparsetools

    from skrnn._reservoir import random_reservoir

    W = random_reservoir(units, 0.1, np.random.default_rng(0))
    data = W.data.astype(dtype)
    h = np.full((units, n_sequences), 0.1, dtype)
    z = np.zeros((units, n_sequences), dtype)
    start = time.process_time()
    for _ in range(n_steps):
        _sparsetools.csr_matvecs(units, units, n_sequences, W.indptr, W.indices, data,
                                 h.ravel(), z.ravel())
    return time.process_time() - start


def _fmt(values):
    return f"{np.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def _machine():
    try:
        import reservoirpy

        rpy = f"reservoirpy {reservoirpy.__version__}"
    except ImportError:
        rpy = "reservoirpy not installed"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, SciPy {scipy.__version__}, {rpy}")


def main(quick=False):
    warnings.simplefilter("ignore")
    mg, narma, horizon = accuracy()
    rpy_mg, rpy_narma = reservoirpy_accuracy()

    def theirs(v, fmt):
        return format(v, fmt) if v is not None else "not installed"

    lines = ["## Echo state networks", "",
             "Command: `python benchmarks/esn_benchmark.py" + (" --quick`" if quick else "`"),
             f"on {_machine()}.", "",
             "| task | skrnn | reservoirpy (same hyperparameters) | target |",
             "| --- | --- | --- | --- |",
             f"| Mackey-Glass one-step NRMSE (500 units) | {mg:.2e} | "
             f"{theirs(rpy_mg, '.2e')} | <= 4e-5 |",
             f"| NARMA-10 NRMSE (500 units) | {narma:.3f} | {theirs(rpy_narma, '.3f')} "
             "| <= 0.23 |",
             f"| Mackey-Glass closed-loop horizon (NRMSE <= 0.1) | {horizon} steps | | "
             ">= 300 |",
             "", "Reservoir topologies, same hyperparameters as above (500 units); "
             "NRMSE on the test window.", "",
             "| topology | Mackey-Glass one-step | NARMA-10 |", "| --- | --- | --- |"]
    lines += [f"| {name} | {mg_t:.2e} | {na_t:.3f} |" for name, mg_t, na_t in
              topology_accuracy()]
    lines += ["", "Process CPU seconds on one 10,000-step series (density 0.1, leak 0.3), "
             "one BLAS thread, interleaved repetitions, median [min-max]. The last column is "
             "10,000 bare CSR products (SciPy's kernel, which both libraries use): the floor "
             "of any run of this reservoir.", "",
             "| units | step | skrnn | reservoirpy | ratio | CSR products alone |",
             "| --- | --- | --- | --- | --- | --- |"]
    with _one_blas_thread():
        for units in (500, 2000):
            times = speed(units, 1 if quick else 3)
            floor = sparse_product_floor(units)
            for what in ("fit", "predict"):
                ours = times[("skrnn", what)]
                other = times.get(("reservoirpy", what))
                ratio = f"{np.median(ours) / np.median(other):.2f}" if other else "n/a"
                lines.append(f"| {units} | {what} | {_fmt(ours)} | "
                             f"{_fmt(other) if other else 'not installed'} | {ratio} | "
                             f"{floor:.3f} |")
        lines += ["", "Process CPU seconds on 400 sequences of 100 steps with 3 inputs "
                  "(density 0.1, no leak, washout 10, readout on the states), one BLAS "
                  "thread, interleaved, median [min-max]. Every skrnn fit starts with an "
                  "empty reservoir cache (as in a fresh process), so it computes its "
                  "eigenvalues as reservoirpy does. Ratios are skrnn / reservoirpy. The last "
                  "column is the 100 recurrent CSR products alone (one per step for all 400 "
                  "sequences), float64 / float32: the floor of any run of this reservoir.",
                  "", "| units | step | skrnn float64 | skrnn float32 | reservoirpy | ratio "
                  "float64 | ratio float32 | CSR products alone |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for units in (300, 1000):
            times = batch_speed(units, 1 if quick else 3)
            floors = [np.median([batch_product_floor(units, dt) for _ in range(3)])
                      for dt in (np.float64, np.float32)]
            for what in ("fit", "predict"):
                a, b = times[("skrnn", what)], times[("skrnn float32", what)]
                other = times.get(("reservoirpy", what))
                r64 = f"{np.median(a) / np.median(other):.2f}" if other else "n/a"
                r32 = f"{np.median(b) / np.median(other):.2f}" if other else "n/a"
                lines.append(f"| {units} | {what} | {_fmt(a)} | {_fmt(b)} | "
                             f"{_fmt(other) if other else 'not installed'} | {r64} | {r32} | "
                             f"{floors[0]:.3f} / {floors[1]:.3f} |")
        times = grid_speed(1 if quick else 3)
        ours, other = times[("skrnn", "fit")], times.get(("reservoirpy", "fit"))
        ratio = f"{np.median(ours) / np.median(other):.2f}" if other else "n/a"
        lines += ["", "A grid of 5 `spectral_radius` values (0.5 to 0.95), 5 fits on the "
                  "same data set, 300 units, float64, process CPU seconds. skrnn computes "
                  "the eigenvalues of the shared reservoir once (it is cached by its seed) "
                  "and scales it at run time.", "",
                  "| skrnn | reservoirpy | ratio |", "| --- | --- | --- |",
                  f"| {_fmt(ours)} | {_fmt(other) if other else 'not installed'} | "
                  f"{ratio} |"]
    return "\n".join(lines)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables above already ask for one thread
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timing repetition")
    table = main(parser.parse_args().quick)
    print(table)
    (Path(__file__).parent / "ESN_RESULTS.md").write_text(table + "\n")
