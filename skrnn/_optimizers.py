"""Stochastic optimizers that update a list of arrays in place.

They know nothing about networks: each holds its state (velocities, moment estimates, step
count) for a fixed list of parameter arrays and applies one update from a matching list of
gradients. The update rules are scikit-learn's (``sklearn.neural_network``) written out, so
``solver="sgd"``/``"adam"`` mean the same here as in ``MLPClassifier``.
"""

import numpy as np

__all__ = ["SGDOptimizer", "AdamOptimizer"]


class SGDOptimizer:
    """Stochastic gradient descent with momentum (optionally Nesterov's).

    ``v <- momentum * v - lr * g``; the parameter moves by ``v``, or with Nesterov by
    ``momentum * v - lr * g`` computed with the new ``v``.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (their shapes and dtypes define the state).
    learning_rate_init : float
    momentum : float
    nesterov : bool
    """

    def __init__(self, params, learning_rate_init=0.1, momentum=0.9, nesterov=True):
        self.learning_rate = float(learning_rate_init)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        """Apply one update in place. ``params`` and ``grads`` are matching lists."""
        lr, mu = self.learning_rate, self.momentum
        for p, v, g in zip(params, self.velocities, grads):
            v *= mu
            v -= lr * g
            if self.nesterov:
                p += mu * v - lr * g
            else:
                p += v


class AdamOptimizer:
    """Adam (Kingma and Ba, 2015), with scikit-learn's bias-corrected step size.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr_t m / (sqrt(v) + eps)`` with
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float
    beta_1, beta_2 : float in [0, 1)
    epsilon : float

    Attributes
    ----------
    t : int
        Number of updates applied.
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8):
        self.learning_rate_init = float(learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        """Apply one update in place. ``params`` and ``grads`` are matching lists."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        lr = self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, m, v, g in zip(params, self.ms, self.vs, grads):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= (lr * m) / (np.sqrt(v) + self.epsilon)
