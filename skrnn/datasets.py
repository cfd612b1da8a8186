"""Generators of standard sequence benchmarks: Mackey-Glass, NARMA, the adding problem."""

import numpy as np
from sklearn.utils import check_random_state

from ._sequences import check_lengths_argument

__all__ = ["make_adding_problem", "make_mackey_glass", "make_narma"]


def make_mackey_glass(n_timesteps=2000, *, tau=17, beta=0.2, gamma=0.1, n=10, dt=0.1,
                      sample_step=1.0, x0=1.2, n_discard=0, random_state=None):
    r"""The Mackey-Glass chaotic time series.

    Integrates the delay differential equation

    .. math::  \frac{dx}{dt} = \beta \frac{x(t - \tau)}{1 + x(t - \tau)^n} - \gamma x(t)

    with the classical fourth-order Runge-Kutta scheme at step ``dt`` (the delayed value at
    half steps is interpolated linearly), from the constant history ``x0``, and samples
    it every ``sample_step`` time units. With ``tau=17`` the series is chaotic; this is the
    standard echo state network benchmark (Jaeger and Haas, 2004).

    Parameters
    ----------
    n_timesteps : int, default=2000
        Number of samples returned.
    tau, beta, gamma, n : float, default=17, 0.2, 0.1, 10
        Delay and coefficients of the equation.
    dt : float, default=0.1
        Integration step; ``sample_step`` must be a multiple of it.
    sample_step : float, default=1.0
        Time between returned samples.
    x0 : float, default=1.2
        Constant initial history.
    n_discard : int, default=0
        Samples dropped at the start (the transient from the constant history).
    random_state : int, RandomState instance or None, default=None
        If given, the initial history is ``x0`` plus uniform noise in ``[-0.01, 0.01]``,
        giving a different trajectory per seed; None keeps the deterministic history.

    Returns
    -------
    x : ndarray of shape (n_timesteps,)
    """
    n_timesteps = check_lengths_argument(n_timesteps, "n_timesteps")
    every = int(round(sample_step / dt))
    if every < 1 or abs(every * dt - sample_step) > 1e-9:
        raise ValueError(f"sample_step={sample_step} must be a positive multiple of dt={dt}.")
    delay = int(round(tau / dt))
    total = (n_timesteps + n_discard) * every
    x = np.empty(total + delay + 1)
    history = np.full(delay + 1, float(x0))
    if random_state is not None:
        history += check_random_state(random_state).uniform(-0.01, 0.01, delay + 1)
    x[: delay + 1] = history

    def f(x_t, x_delayed):
        return beta * x_delayed / (1.0 + x_delayed**n) - gamma * x_t

    for i in range(delay, delay + total):
        xd, xd_next = x[i - delay], x[i - delay + 1]
        xd_half = 0.5 * (xd + xd_next)
        k1 = f(x[i], xd)
        k2 = f(x[i] + 0.5 * dt * k1, xd_half)
        k3 = f(x[i] + 0.5 * dt * k2, xd_half)
        k4 = f(x[i] + dt * k3, xd_next)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    samples = x[delay + every:: every][: n_timesteps + n_discard]
    return samples[n_discard:].copy()


def make_narma(n_timesteps=2000, *, order=10, random_state=None):
    r"""The NARMA system (nonlinear autoregressive moving average), input and output.

    For ``order=10`` (NARMA-10, Atiya and Parlos 2000):

    .. math::
        y_{t+1} = 0.3 y_t + 0.05 y_t \sum_{i=0}^{9} y_{t-i} + 1.5 u_{t-9} u_t + 0.1

    with ``u_t`` uniform in ``[0, 0.5]``; other orders replace 10 and 9 by ``order`` and
    ``order - 1``. A model must remember ``order`` steps of input to predict ``y``.

    Parameters
    ----------
    n_timesteps : int, default=2000
    order : int, default=10
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    u : ndarray of shape (n_timesteps,)
        The input.
    y : ndarray of shape (n_timesteps,)
        The output; ``y[t]`` depends on ``u[:t]`` (predict it from the input up to t - 1,
        or, as is usual, shift by one: ``X = u[:-1], target = y[1:]``).
    """
    n_timesteps = check_lengths_argument(n_timesteps, "n_timesteps")
    order = check_lengths_argument(order, "order")
    u = check_random_state(random_state).uniform(0.0, 0.5, n_timesteps)
    y = np.zeros(n_timesteps)
    for t in range(order - 1, n_timesteps - 1):
        y[t + 1] = (0.3 * y[t] + 0.05 * y[t] * y[t - order + 1: t + 1].sum()
                    + 1.5 * u[t - order + 1] * u[t] + 0.1)
    return u, y


def make_adding_problem(n_sequences=1000, n_timesteps=50, *, random_state=None):
    """Hochreiter and Schmidhuber's adding problem, a test of long-range memory.

    Each sequence has two features: values uniform in ``[0, 1]`` and a marker that is 1 at
    exactly two random steps and 0 elsewhere. The target is the sum of the two marked
    values. Predicting the mean (1) gives a mean squared error of 1/6.

    Parameters
    ----------
    n_sequences : int, default=1000
    n_timesteps : int, default=50
        At least 2.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_sequences, n_timesteps, 2)
    y : ndarray of shape (n_sequences,)
    """
    n_sequences = check_lengths_argument(n_sequences, "n_sequences")
    n_timesteps = check_lengths_argument(n_timesteps, "n_timesteps")
    if n_timesteps < 2:
        raise ValueError("The adding problem needs n_timesteps >= 2 (two marked steps).")
    rng = check_random_state(random_state)
    X = np.zeros((n_sequences, n_timesteps, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, (n_sequences, n_timesteps))
    # Two distinct marked steps per sequence: the two smallest of a random permutation.
    marks = np.argsort(rng.uniform(size=(n_sequences, n_timesteps)), axis=1)[:, :2]
    rows = np.arange(n_sequences)[:, None]
    X[rows, marks, 1] = 1.0
    y = X[rows, marks, 0].sum(axis=1)
    return X, y
