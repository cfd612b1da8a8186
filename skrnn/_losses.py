"""Output heads and losses: a linear layer on the recurrent representation, then
softmax cross-entropy (classification, tagging) or squared error (regression).

A head sees a matrix of rows: one row per sequence for many-to-one estimators, one row per
real time step for per-step estimators. Every loss is a weighted mean over rows,
``sum_i w_i l_i / sum_i w_i``, so a sample weight of 2 equals repeating the row, and
padded steps simply have no row.
"""

import numpy as np

__all__ = ["log_softmax", "softmax", "log_loss", "squared_error", "LOSSES"]


def log_softmax(Z):
    """Row-wise log-softmax, stable for any finite logits. ``Z`` (m, K) -> (m, K)."""
    Z = Z - Z.max(axis=1, keepdims=True)
    Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return Z


def softmax(Z):
    """Row-wise softmax. ``Z`` (m, K) -> probabilities (m, K)."""
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return P


def log_loss(Z, y, weights):
    """Weighted mean cross-entropy of logits and its gradient.

    Parameters
    ----------
    Z : ndarray of shape (m, n_classes)
        Logits.
    y : ndarray of shape (m,), dtype int
        Class indices.
    weights : ndarray of shape (m,)
        Row weights.

    Returns
    -------
    loss : float
    dZ : ndarray of shape (m, n_classes)
    """
    logp = log_softmax(Z)
    rows = np.arange(Z.shape[0])
    total = weights.sum()
    loss = -float(np.dot(weights, logp[rows, y])) / total
    dZ = np.exp(logp)
    dZ[rows, y] -= 1
    dZ *= (weights / total)[:, None]
    return loss, dZ


def squared_error(Z, Y, weights):
    """Weighted half mean squared error (as ``MLPRegressor``) and its gradient.

    Parameters
    ----------
    Z : ndarray of shape (m, n_outputs)
        Predictions.
    Y : ndarray of shape (m, n_outputs)
        Targets.
    weights : ndarray of shape (m,)

    Returns
    -------
    loss : float
    dZ : ndarray of shape (m, n_outputs)
    """
    diff = Z - Y
    scale = weights / (weights.sum() * Z.shape[1])
    loss = 0.5 * float(np.dot(scale, np.einsum("ij,ij->i", diff, diff)))
    diff *= scale[:, None]
    return loss, diff


LOSSES = {"log_loss": log_loss, "squared_error": squared_error}
