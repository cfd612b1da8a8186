r"""The Clockwork RNN cell, ``cell="clockwork"`` (Koutník et al., ICML 2014).

The state is split into modules of equal size with clock periods :math:`T_1 < T_2 < \dots`,
fastest first. At step :math:`t` module :math:`i` updates like an Elman RNN only if
:math:`t \bmod T_i = 0` and keeps its state otherwise. :math:`W_{hh}` is block
upper-triangular, so each module hears itself and the slower modules. Each period divides
the next, so the modules that update at a step are always a leading block of rows, and the
others cost nothing. The structural zeros of :math:`W_{hh}` are masked in the forward pass
and get no gradient, so they stay zero through training.
"""

import numpy as np

from .base import ElmanCell

__all__ = ["ClockworkCell", "check_clock_periods", "clockwork_structure"]

#: The exponential series of Koutník et al., used when ``clock_periods`` is None.
DEFAULT_PERIODS = (1, 2, 4, 8)


def check_clock_periods(hidden, periods):
    """Validate Clockwork RNN periods for a state of ``hidden`` units; return them sorted."""
    periods = tuple(int(p) for p in periods)
    if len(periods) == 0 or any(p < 1 for p in periods):
        raise ValueError(f"clock_periods must be positive integers; got {periods}.")
    periods = tuple(sorted(periods))
    if any(b % a for a, b in zip(periods, periods[1:])):
        raise ValueError(
            f"Each clock period must divide the next (e.g. 1, 2, 4, 8); got {periods}.")
    if hidden % len(periods):
        raise ValueError(
            f"A clockwork layer of {hidden} units cannot be split into {len(periods)} "
            f"modules of equal size (clock_periods={periods}); choose hidden_layer_sizes "
            "divisible by the number of periods.")
    return periods


def clockwork_structure(hidden, periods):
    """Allowed recurrent connections: from each module to itself and every faster module.

    Returns
    -------
    mask : ndarray of bool of shape (hidden, hidden)
        ``mask[i, j]`` is True when state unit ``j`` feeds unit ``i``.
    """
    k = hidden // len(periods)
    module = np.arange(hidden) // k
    return module[None, :] >= module[:, None]


class ClockworkCell(ElmanCell):
    """Elman steps over the leading rows whose modules tick; the rest keep their state.

    Attributes
    ----------
    periods : tuple of int
        The validated, sorted clock periods.
    structure : ndarray of bool of shape (hidden, hidden)
        The allowed recurrent weights (:func:`clockwork_structure`).
    """

    n_gates = 1

    def __init__(self, config, layer):
        super().__init__(config, layer)
        periods = DEFAULT_PERIODS if config.clock_periods is None else config.clock_periods
        self.periods = check_clock_periods(self.hidden, periods)
        self.structure = clockwork_structure(self.hidden, self.periods)

    def init_params(self, rng, init="orthogonal"):
        params = super().init_params(rng, init)
        params["weight_hh"] *= self.structure  # slower -> faster connections only
        return params

    def recurrent_weights(self, p):
        return p["weight_hh"] * self.structure

    def active_rows(self, T):
        """Per step ``t``, the number of leading rows whose modules update."""
        k = self.hidden // len(self.periods)
        return [k * sum(1 for p in self.periods if t % p == 0) for t in range(T)]

    def start_forward(self, p, X, h0, c0, keep):
        tr = super().start_forward(p, X, h0, c0, keep)
        tr.active = self.active_rows(X.shape[0])
        return tr

    def step(self, tr, t):
        a = tr.active[t]
        z = tr.H[t + 1][:a]
        rec = tr.scratch[:a]
        np.matmul(tr.W_hh[:a], tr.H[t], out=rec)
        z += rec
        tr.phi(z)
        tr.H[t + 1][a:] = tr.H[t][a:]  # modules off the clock keep their state

    def backward_step(self, tr, bs, t, dh, dc):
        a = tr.active[t]
        d = bs.dz
        d[a:] = 0
        da = bs.dphi(tr.H[t + 1][:a], d[:a])
        da *= dh[:a]
        dh_prev = bs.W_hh[:a].T @ da
        dh_prev[a:] += dh[a:]  # the identity of the modules that did not tick
        return dh_prev, None

    def accumulate(self, tr, bs, t, x):
        self._accumulate_rows(tr, bs, t, x, tr.active[t])  # the ticking rows

    def finish_backward(self, tr, bs):
        bs.dW_hh *= self.structure  # structural zeros get no gradient: they stay zero
        return super().finish_backward(tr, bs)
