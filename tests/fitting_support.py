"""Small helpers the estimator tests share: a fit without convergence warnings, a padded
copy of ragged sequences, and the traced peak memory of a call.

Imported by the test modules (pytest puts this folder on ``sys.path``).
"""

import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def quiet_fit(est, X, y, **kw):
    """``est.fit(X, y, **kw)`` with ``ConvergenceWarning`` silenced (short test fits)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def padded(X, fill=np.nan):
    """Ragged sequences as one array ``(n, T_max, ...)``, ``fill`` after each sequence's end
    (float with NaN, otherwise the sequences' own dtype, e.g. string labels)."""
    T = max(len(x) for x in X)
    dtype = float if fill is np.nan else np.asarray(X[0]).dtype
    out = np.full((len(X), T) + np.shape(X[0])[1:], fill, dtype=dtype)
    for i, x in enumerate(X):
        out[i, : len(x)] = x
    return out


def traced(fn):
    """``(fn(), peak)``: the result and the peak of Python-level allocations while it ran,
    in bytes (``tracemalloc``)."""
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak
