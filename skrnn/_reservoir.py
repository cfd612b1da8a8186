"""Reservoir matrices for echo state networks: the topologies (random sparse, simple cycle,
delay line, or the user's own), normalisation to spectral radius 1, input and feedback
weights, the validation of a matrix before any compiled kernel reads it, and the
echo-state-property check.

The reservoir is normalised once per fit; the estimator scales it by ``spectral_radius`` at
run time, so a grid over ``spectral_radius`` never recomputes eigenvalues.
"""

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

__all__ = [
    "DENSE_EIGEN_LIMIT",
    "TOPOLOGIES",
    "check_reservoir_matrix",
    "cycle_reservoir",
    "delay_line_reservoir",
    "input_weights",
    "make_reservoir",
    "normalised_reservoir",
    "random_reservoir",
    "spectral_radius",
    "warn_if_no_echo_state",
]

#: Up to this many units the spectral radius is computed exactly from dense eigenvalues;
#: above it ARPACK is used (several eigenvalues, a Krylov space of 40 vectors, a seeded start
#: vector, tolerance at machine precision). Measured here on one core for reservoirs of
#: density 0.1: dense ``eigvals`` 0.24 s at 500 units, 1.3 s at 1000, 5.7 s at 2000, 17 s at
#: 3000; ARPACK 0.03 s, 0.09 s and 2 s at 500, 1000 and 2000 units and equal to the dense
#: value to 1e-13 on 20 of 20 random sparse reservoirs (``eigs(k=1)`` missed on 4 of them,
#: by up to 1%). At 1000 units the dense solve cost more than the rest of a fit of 400
#: sequences of 100 steps, hence 300: dense where it is cheap, ARPACK above.
DENSE_EIGEN_LIMIT = 300

# ARPACK settings: six eigenvalues of largest magnitude in a 40-vector Krylov space.
_ARPACK_K = 6
_ARPACK_NCV = 40


def random_reservoir(n_reservoir, density, rng):
    """A random recurrent matrix with entries uniform in [-1, 1].

    Below ``density=1`` every unit receives exactly ``max(1, round(density * n_reservoir))``
    connections from distinct, uniformly drawn units (a fixed in-degree). Every unit thus
    has an input, so the matrix always contains a cycle and is never structurally
    nilpotent (a spectral radius of 0 would make normalisation impossible), and the rows of
    equal length make the sparse product faster than uneven ones.

    Parameters
    ----------
    n_reservoir : int
    density : float in (0, 1]
        Fraction of non-zero entries.
    rng : numpy.random.Generator

    Returns
    -------
    W : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Dense when ``density == 1``, CSR (sorted indices) otherwise.
    """
    n = int(n_reservoir)
    if density >= 1.0:
        return rng.uniform(-1.0, 1.0, size=(n, n))
    m = min(n, max(1, int(round(density * n))))
    indices = np.empty((n, m), dtype=np.int32)
    for i in range(n):  # distinct columns per row; O(m) each
        indices[i] = rng.choice(n, size=m, replace=False)
    indices.sort(axis=1)
    data = rng.uniform(-1.0, 1.0, size=n * m)
    indptr = np.arange(0, n * m + 1, m, dtype=np.int32)
    W = sp.csr_matrix((data, indices.ravel(), indptr), shape=(n, n))
    W.has_sorted_indices = True
    return W


def _arpack_radius(W, rng, ncv):
    n = W.shape[0]
    v0 = rng.uniform(-1.0, 1.0, size=n)
    values = scipy.sparse.linalg.eigs(W, k=min(_ARPACK_K, n - 2), ncv=min(ncv, n),
                                      which="LM", v0=v0, tol=0, maxiter=100 * n,
                                      return_eigenvectors=False)
    return float(np.max(np.abs(values)))


def spectral_radius(W, rng=None):
    """Largest absolute eigenvalue of a square matrix.

    Exact (dense ``eigvals``) up to :data:`DENSE_EIGEN_LIMIT` units; above, ARPACK with six
    eigenvalues of largest magnitude, a Krylov space of 40 vectors, tolerance at machine
    precision and a start vector drawn from ``rng`` (``eigs`` with ``k=1`` was measured to
    miss the true radius on 8 of 20 random sparse reservoirs). If ARPACK does not
    converge, the Krylov space is doubled, and as a last resort dense eigenvalues are used.

    Parameters
    ----------
    W : ndarray or sparse matrix of shape (n, n)
    rng : numpy.random.Generator or None
        Seeds ARPACK's start vector, so results are deterministic; None uses seed 0.

    Returns
    -------
    rho : float
    """
    n = W.shape[0]
    if n <= max(DENSE_EIGEN_LIMIT, _ARPACK_K + 2):
        dense = W.toarray() if sp.issparse(W) else W
        return float(np.max(np.abs(scipy.linalg.eigvals(dense))))
    rng = np.random.default_rng(0) if rng is None else rng
    for ncv in (_ARPACK_NCV, 4 * _ARPACK_NCV):
        try:
            return _arpack_radius(W, rng, ncv)
        except scipy.sparse.linalg.ArpackNoConvergence:
            continue
    dense = W.toarray() if sp.issparse(W) else W  # pragma: no cover - never seen
    return float(np.max(np.abs(scipy.linalg.eigvals(dense))))  # pragma: no cover


def normalised_reservoir(n_reservoir, density, rng, eig_rng):
    """A random reservoir (:func:`random_reservoir`) scaled to spectral radius 1.

    Parameters
    ----------
    n_reservoir : int
    density : float in (0, 1]
        Fraction of non-zero recurrent connections; below 1 the matrix is CSR sparse.
    rng : numpy.random.Generator
        Draws the matrix.
    eig_rng : numpy.random.Generator
        Seeds the eigen-solver.

    Returns
    -------
    W : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Spectral radius 1.
    radius : float
        Spectral radius of the matrix as drawn (before normalisation).
    """
    W = random_reservoir(n_reservoir, density, rng)
    rho = spectral_radius(W, eig_rng)
    if rho < 1e-12:  # pragma: no cover - excluded by the fixed in-degree (a cycle exists)
        raise ValueError("The random reservoir has spectral radius 0; increase density.")
    if sp.issparse(W):
        W.data /= rho
    else:
        W /= rho
    return W, rho


def input_weights(n_reservoir, n_inputs, density, scaling, rng):
    """Dense input (or feedback) weights, uniform in ``[-scaling, scaling]``.

    A fraction ``density`` of them is non-zero, with at least one per reservoir unit when
    ``density < 1``.

    Parameters
    ----------
    n_reservoir, n_inputs : int
    density : float in (0, 1]
    scaling : float
    rng : numpy.random.Generator

    Returns
    -------
    W_in : ndarray of shape (n_reservoir, n_inputs)
    """
    W = rng.uniform(-1.0, 1.0, size=(n_reservoir, n_inputs))
    if density < 1.0:
        keep = rng.random((n_reservoir, n_inputs)) < density
        keep[np.arange(n_reservoir), rng.integers(0, n_inputs, n_reservoir)] = True
        W *= keep
    return W * scaling


def warn_if_no_echo_state(spectral_radius, leak_rate):
    """Warn when the effective spectral radius ``(1 - a) + a * rho`` exceeds 1.

    Then the linearised leaky reservoir is unstable around the origin: its state need not
    forget its initial condition (the echo state property may fail) and it can grow until
    the activation saturates.
    """
    effective = (1.0 - leak_rate) + leak_rate * spectral_radius
    if effective > 1.0:
        warnings.warn(
            f"The effective spectral radius (1 - leak_rate) + leak_rate * spectral_radius = "
            f"{effective:.3g} exceeds 1: the echo state property may not hold (states can "
            "depend on the initial state forever). Use spectral_radius < 1.", UserWarning)


def cycle_reservoir(n_reservoir):
    """The simple cycle reservoir of Rodan and Tino (2011): unit ``i`` feeds unit ``i + 1``.

    All weights are 1, so the matrix is a cyclic permutation and its spectral radius is
    exactly 1: ``spectral_radius`` is then the one shared weight ``r`` of the paper.

    Returns
    -------
    W : scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
    """
    n = int(n_reservoir)
    rows = np.arange(n)
    W = sp.csr_matrix((np.ones(n), ((rows + 1) % n, rows)), shape=(n, n))
    W.sort_indices()
    return W


def delay_line_reservoir(n_reservoir):
    """The delay line reservoir of Rodan and Tino (2011): a cycle without its closing edge.

    Unit ``i`` feeds unit ``i + 1`` with weight 1. The matrix is nilpotent (every eigenvalue
    is 0), so it cannot be normalised to radius 1: ``spectral_radius`` is the weight ``r``
    of every connection instead.

    Returns
    -------
    W : scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
    """
    n = int(n_reservoir)
    rows = np.arange(n - 1)
    W = sp.csr_matrix((np.ones(n - 1), (rows + 1, rows)), shape=(n, n))
    W.sort_indices()
    return W


#: The named topologies of the ``reservoir`` parameter.
TOPOLOGIES = ("random", "cycle", "delay_line")


def check_reservoir_matrix(W, n_reservoir, what="The reservoir"):
    """Validate a recurrent matrix before any compiled kernel reads it.

    A CSR matrix is checked in full: the lengths of ``indptr``, ``indices`` and ``data``,
    ``indptr`` starting at 0 and non-decreasing, every column index in range, integer index
    arrays and a real floating data array. SciPy's compiled kernels trust all of these, so a
    matrix from an untrusted file that breaks one of them could make them read or write out
    of bounds.

    Parameters
    ----------
    W : ndarray or scipy.sparse matrix
    n_reservoir : int
        The expected number of units.
    what : str
        How error messages name the matrix.

    Returns
    -------
    W : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        The matrix, CSR when sparse.

    Raises
    ------
    ValueError
        If the matrix is malformed, not square of side ``n_reservoir``, or not finite.
    """
    n = int(n_reservoir)
    if sp.issparse(W):
        if W.format != "csr":
            W = W.tocsr()
        if W.shape != (n, n):
            raise ValueError(f"{what} has shape {W.shape}; expected ({n}, {n}).")
        indptr, indices, data = W.indptr, W.indices, W.data
        for name, a in (("indptr", indptr), ("indices", indices)):
            if not (isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind == "i"):
                raise ValueError(f"{what} is a malformed CSR matrix: {name} must be a 1-D "
                                 "integer array.")
        if not (isinstance(data, np.ndarray) and data.ndim == 1 and data.dtype.kind == "f"):
            raise ValueError(f"{what} is a malformed CSR matrix: data must be a 1-D float "
                             "array.")
        if indptr.shape[0] != n + 1:
            raise ValueError(f"{what} is a malformed CSR matrix: indptr has "
                             f"{indptr.shape[0]} entries; expected {n + 1}.")
        if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError(f"{what} is a malformed CSR matrix: indptr must start at 0 and "
                             "never decrease.")
        nnz = int(indptr[-1])
        if indices.shape[0] != nnz or data.shape[0] != nnz:
            raise ValueError(f"{what} is a malformed CSR matrix: indptr ends at {nnz} but "
                             f"there are {indices.shape[0]} indices and {data.shape[0]} "
                             "values.")
        if nnz and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"{what} is a malformed CSR matrix: a column index is outside "
                             f"[0, {n}).")
        if not np.all(np.isfinite(data)):
            raise ValueError(f"{what} has non-finite entries.")
        return W
    W = np.asarray(W)
    if W.dtype.kind not in "fiu" or W.shape != (n, n):
        raise ValueError(f"{what} must be a real array of shape ({n}, {n}); got dtype "
                         f"{W.dtype} and shape {W.shape}.")
    W = W.astype(np.float64, copy=False)
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{what} has non-finite entries.")
    return W


def make_reservoir(reservoir, n_reservoir, density, rng, eig_rng):
    """Build the recurrent matrix of a topology and normalise it to spectral radius 1.

    Parameters
    ----------
    reservoir : {"random", "cycle", "delay_line"}, array-like, sparse matrix or callable
        The topology: a random sparse matrix (:func:`random_reservoir`), the simple cycle
        (:func:`cycle_reservoir`), the delay line (:func:`delay_line_reservoir`), a
        user-supplied matrix of shape (n_reservoir, n_reservoir), or a callable
        ``reservoir(n_reservoir, rng)`` that returns one.
    n_reservoir : int
    density : float in (0, 1]
        Used by ``"random"`` only.
    rng, eig_rng : numpy.random.Generator
        Draw the matrix (random topology and callables) and seed the eigen-solver.

    Returns
    -------
    W : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Spectral radius 1, except a nilpotent matrix (the delay line, or a user matrix
        whose eigenvalues are all 0), which is returned as given.
    radius : float
        Spectral radius of the matrix before normalisation.
    """
    if isinstance(reservoir, str):
        if reservoir == "random":
            return normalised_reservoir(n_reservoir, density, rng, eig_rng)
        if reservoir == "cycle":
            return cycle_reservoir(n_reservoir), 1.0
        return delay_line_reservoir(n_reservoir), 0.0
    W = reservoir(n_reservoir, rng) if callable(reservoir) else reservoir
    W = check_reservoir_matrix(W if sp.issparse(W) else np.asarray(W), n_reservoir,
                               what="The user-supplied reservoir")
    W = W.astype(np.float64, copy=True)
    rho = spectral_radius(W, eig_rng)
    if rho > 1e-12:
        if sp.issparse(W):
            W.data /= rho
        else:
            W /= rho
    return W, rho
