"""The floor of an echo state network's run: one sparse reservoir product per time step.

Both skrnn and reservoirpy run the reservoir through SciPy's compiled CSR kernel, so its cost
bounds how far apart the two can be. This script measures, per time step, on a reservoir of
density 0.1 as ``EchoStateRegressor`` draws it:

- SciPy's CSR product in float64 (what both libraries run) and in float32 (half the bytes of
  weights; a different model, shown only to tell memory traffic from arithmetic);
- a fused reservoir step compiled with numba over the fixed in-degree layout (product, tanh
  and leak in one loop), when numba is installed: the obvious way to beat the kernel.

Run: ``python benchmarks/sparse_kernel_floor.py`` (one BLAS thread, process CPU time,
interleaved repetitions, medians with min/max in microseconds per step).
"""

import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.sparse import _sparsetools  # noqa: E402

from skrnn._reservoir import normalised_reservoir  # noqa: E402

N_STEPS = 2000
LEAK = 0.3


def scipy_run(W, P, dtype):
    """Leaky tanh reservoir over the projected inputs ``P`` (T, R) with SciPy's kernel."""
    R = W.shape[0]
    data = W.data.astype(dtype)
    H = np.empty((P.shape[0] + 1, R), dtype=dtype)
    H[0] = 0.0
    H[1:] = P
    for t in range(P.shape[0]):
        z = H[t + 1]
        _sparsetools.csr_matvec(R, R, W.indptr, W.indices, data, H[t], z)
        np.tanh(z, out=z)
        z -= H[t]
        z *= LEAK
        z += H[t]
    return H[1:]


def numba_run_factory():
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(fastmath=True)
    def run(P, indices, data, leak):
        T, R = P.shape
        m = indices.shape[1]
        H = np.empty((T, R))
        h = np.zeros(R)
        z = np.empty(R)
        for t in range(T):
            for i in range(R):
                s = P[t, i]
                for k in range(m):
                    s += data[i, k] * h[indices[i, k]]
                z[i] = s
            for i in range(R):
                h[i] += leak * (np.tanh(z[i]) - h[i])
                H[t, i] = h[i]
        return H

    return run


def _median(values):
    return f"{np.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def measure(units, numba_run, repeats=5):
    """Microseconds per step of each way of running the reservoir, as table cells."""
    W, _ = normalised_reservoir(units, 0.1, np.random.default_rng(0), np.random.default_rng(1))
    W.data *= 0.9
    P = 0.3 * np.random.default_rng(2).standard_normal((N_STEPS, units))
    runs = {"f64": lambda: scipy_run(W, P, np.float64),
            "f32": lambda: scipy_run(W, P, np.float32)}
    if numba_run is not None:
        m = W.indptr[1]
        indices, data = W.indices.reshape(units, m), W.data.reshape(units, m)
        numba_run(P[:2], indices, data, LEAK)  # compile outside the timing
        assert np.allclose(numba_run(P, indices, data, LEAK), scipy_run(W, P, np.float64),
                           atol=1e-9)
        runs["numba"] = lambda: numba_run(P, indices, data, LEAK)
    times = {name: [] for name in runs}
    for _ in range(repeats):  # interleaved
        for name, run in runs.items():
            start = time.process_time()
            run()
            times[name].append((time.process_time() - start) / N_STEPS * 1e6)
    return [_median(times[name]) if name in times else "numba not installed"
            for name in ("f64", "f32", "numba")]


def main():
    numba_run = numba_run_factory()
    print("| units | SciPy CSR float64 | SciPy CSR float32 | numba fused step |")
    print("| --- | --- | --- | --- |")
    for units in (500, 2000):
        print(f"| {units} | " + " | ".join(measure(units, numba_run)) + " |")


if __name__ == "__main__":
    main()
