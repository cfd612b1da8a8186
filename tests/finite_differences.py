"""Central finite differences, the one gradient check every test of the core shares.

Imported by the test modules (pytest puts this folder on ``sys.path``).
"""

import numpy as np
import pytest


def numeric_grads(f, arrays, eps=1e-6):
    """Central differences of the scalar ``f()`` w.r.t. every entry of every array.

    Parameters
    ----------
    f : callable
        Reads the arrays of ``arrays`` and returns a float.
    arrays : dict of str to ndarray
        float64 arrays; each entry is perturbed in place and restored.
    eps : float, default=1e-6

    Returns
    -------
    dict of str to ndarray
        The numeric gradients, same keys and shapes as ``arrays``.
    """
    num = {}
    for name, p in arrays.items():
        g = np.empty_like(p)
        flat, gf = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = f()
            flat[i] = old - eps
            down = f()
            flat[i] = old
            gf[i] = (up - down) / (2 * eps)
        num[name] = g
    return num


def max_rel_error(analytic, numeric):
    """Largest ``|a - n| / (|n| + 1)`` over the keys of ``numeric``."""
    return max(float(np.max(np.abs(analytic[k] - numeric[k]) / (np.abs(numeric[k]) + 1.0)))
               for k in numeric)


def assert_gradients_match_finite_differences(objective, params, grads, eps=1e-6, abs=1e-6):
    """Assert ``grads`` equals the central differences of ``objective()``, entry by entry,
    within ``abs`` (the failing name and flat index are reported)."""
    numeric = numeric_grads(objective, params, eps)
    for name, num in numeric.items():
        g = grads[name].reshape(-1)
        for i, value in enumerate(num.reshape(-1)):
            assert g[i] == pytest.approx(value, abs=abs), (name, i)
