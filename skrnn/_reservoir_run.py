"""Running a reservoir: the forward-only leaky state update of an echo state network.

A reservoir never back-propagates, so its runner lives here and not in the BPTT core. It
keeps the core's layout ideas: one product for the input projection of every step, one
recurrent product per step for the whole batch, and masking that keeps an ended sequence's
state.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["recurrent_adder", "run_reservoir"]


def _inactive_steps(lengths, T):
    """Per step, a boolean array of sequences past their end, or None if none are."""
    min_len = int(lengths.min())
    steps = [None] * min(min_len, T)
    for t in range(min_len, T):
        steps.append(lengths <= t)
    return steps


def _zero_padding(a, inactive):
    """Zero the padded steps of a batch-major array ``(T, n, ...)`` in place."""
    for t, inact in enumerate(inactive):
        if inact is not None:
            a[t, inact] = 0


def recurrent_adder(W, n):
    """Return ``add(h, z)`` doing ``z += W @ h`` in place for a (R, n) state ``h``.

    Build it once and pass it to :func:`run_reservoir` instead of ``W`` when the reservoir
    is run one step at a time (free runs, generation).

    A CSR reservoir uses SciPy's compiled kernel that accumulates into ``z`` directly (no
    temporary per step); a dense one a matmul into a scratch buffer.
    """
    R = W.shape[0]
    if sp.issparse(W):
        W = W.tocsr()
        indptr, indices, data = W.indptr, W.indices, W.data
        try:
            from scipy.sparse import _sparsetools

            if n == 1:
                def add(h, z):
                    _sparsetools.csr_matvec(R, R, indptr, indices, data, h.ravel(), z.ravel())
            else:
                def add(h, z):
                    _sparsetools.csr_matvecs(R, R, n, indptr, indices, data, h.ravel(),
                                             z.ravel())
            probe_h = np.ones((R, n), dtype=data.dtype)
            probe_z = np.zeros((R, n), dtype=data.dtype)
            add(probe_h, probe_z)
            if np.allclose(probe_z, W @ probe_h):
                return add
        except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
            pass

        def add(h, z):  # pragma: no cover - fallback if SciPy's kernel moves
            z += W @ h

        return add
    scratch = np.empty((R, n), dtype=W.dtype)

    def add(h, z):
        np.matmul(W, h, out=scratch)
        z += scratch

    return add


def run_reservoir(U, lengths, W_in, W, bias, *, leak_rate=1.0, activation="tanh", h0=None,
                  noise=None):
    r"""Forward-only leaky reservoir run, the echo state network's state update.

    .. math::  x_t = (1 - a) x_{t-1} + a \, f(W x_{t-1} + W_{in} u_t + b + \epsilon_t)

    with ``a = leak_rate``. It shares the core's structure: one product for the input
    projection of every step, one recurrent product per step (``W`` may be a SciPy sparse
    matrix, already scaled to the wanted spectral radius), and masking that keeps an ended
    sequence's state.

    Parameters
    ----------
    U : ndarray of shape (n_timesteps, n_sequences, n_inputs)
        Zero-padded, time-major input (with any feedback columns already appended).
    lengths : ndarray of shape (n_sequences,)
    W_in : ndarray of shape (n_reservoir, n_inputs)
    W : ndarray or sparse matrix of shape (n_reservoir, n_reservoir), or callable
        The (scaled) reservoir, or an adder from :func:`recurrent_adder` built for it.
    bias : ndarray of shape (n_reservoir,)
    leak_rate : float, default=1.0
    activation : {"tanh", "relu", "identity"}, default="tanh"
    h0 : ndarray of shape (n_sequences, n_reservoir) or None
        Initial state; zeros if None.
    noise : ndarray of shape (n_timesteps, n_sequences, n_reservoir) or None
        Added to the pre-activation at each step (state noise as a regulariser).

    Returns
    -------
    states : ndarray of shape (n_timesteps, n_sequences, n_reservoir)
        Reservoir states after every step (zero at padded steps).
    last : ndarray of shape (n_sequences, n_reservoir)
        State at each sequence's last real step.
    """
    from ._activations import FORWARD

    T, n, _ = U.shape
    R = W_in.shape[0]
    dtype = np.result_type(U.dtype, W_in.dtype)
    inactive = _inactive_steps(np.asarray(lengths, dtype=np.intp), T)
    P = U.reshape(T * n, -1) @ W_in.T
    P += bias
    if noise is not None:
        P += noise.reshape(T * n, R)
    H = np.empty((T + 1, R, n), dtype=dtype)
    H[1:] = P.reshape(T, n, R).transpose(0, 2, 1)  # the projection, overwritten step by step
    H[0] = 0 if h0 is None else h0.T
    add_recurrent = W if callable(W) else recurrent_adder(W, n)
    f = FORWARD[activation]
    a = float(leak_rate)
    leaky = a != 1.0
    for t in range(T):
        z = H[t + 1]
        add_recurrent(H[t], z)
        f(z)
        if leaky:  # x = x_prev + a * (f(.) - x_prev)
            z -= H[t]
            z *= a
            z += H[t]
        if inactive[t] is not None:
            np.copyto(z, H[t], where=inactive[t])
    states = np.ascontiguousarray(H[1:].transpose(0, 2, 1))
    _zero_padding(states, inactive)
    return states, np.ascontiguousarray(H[T].T)
