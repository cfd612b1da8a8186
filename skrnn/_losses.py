"""Output heads and losses: a linear layer on the recurrent representation, then
softmax cross-entropy (classification, tagging), sigmoid cross-entropy per label
(multilabel classification) or squared error (regression).

A head sees a matrix of rows: one row per sequence for many-to-one estimators, one row per
real time step for per-step estimators. Every loss is a weighted mean over rows,
``sum_i w_i l_i / sum_i w_i``, so a sample weight of 2 equals repeating the row, and
padded steps simply have no row.
"""

import numpy as np

__all__ = ["log_softmax", "softmax", "log_loss", "binary_log_loss", "squared_error", "LOSSES",
           "trivial_loss"]


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


def binary_log_loss(Z, Y, weights):
    """Weighted mean over rows of the summed per-label sigmoid cross-entropy, and its gradient.

    As ``MLPClassifier`` on multilabel targets: one independent sigmoid output per label,
    the cross-entropies summed over labels.

    Parameters
    ----------
    Z : ndarray of shape (m, n_labels)
        Logits.
    Y : ndarray of shape (m, n_labels)
        0/1 indicators.
    weights : ndarray of shape (m,)

    Returns
    -------
    loss : float
    dZ : ndarray of shape (m, n_labels)
    """
    scale = weights / weights.sum()
    # -y log s(z) - (1 - y) log(1 - s(z)) = softplus(z) - y z, computed stably.
    per_row = (np.logaddexp(0.0, Z) - Y * Z).sum(axis=1)
    loss = float(np.dot(scale, per_row))
    dZ = sigmoid(Z)
    dZ -= Y
    dZ *= scale[:, None]
    return loss, dZ


def sigmoid(Z):
    """Logistic function, stable for any finite ``Z`` (no overflow in ``exp``)."""
    out = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + out), out / (1.0 + out))


LOSSES = {"log_loss": log_loss, "binary_log_loss": binary_log_loss,
          "squared_error": squared_error}


def trivial_loss(name, Y, weights):
    """Loss of the best constant prediction: the class priors, or the mean target.

    This is the level a network reaches without using its input at all; training that ends
    there has learnt nothing.

    Parameters
    ----------
    name : {"log_loss", "binary_log_loss", "squared_error"}
    Y : ndarray
        Row targets: class indices (m,), 0/1 indicators (m, n_labels), or values
        (m,) / (m, n_outputs).
    weights : ndarray of shape (m,)

    Returns
    -------
    loss : float
    """
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    if name == "log_loss":
        p = np.bincount(Y, weights=weights) / total
        p = p[p > 0]
        return float(-np.dot(p, np.log(p)))
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    mean = weights @ Y / total
    if name == "binary_log_loss":
        p = np.clip(mean, 1e-300, 1.0)
        q = np.clip(1.0 - mean, 1e-300, 1.0)
        return float(-(mean * np.log(p) + (1.0 - mean) * np.log(q)).sum())
    var = weights @ (Y - mean) ** 2 / total
    return float(0.5 * var.mean())
