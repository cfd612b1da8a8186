r"""The Elman RNN cell, ``cell="rnn"``: one gate block, state activation ``tanh`` or ``relu``.

.. math::  h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

Parameters are those of ``torch.nn.RNN`` (``nonlinearity="tanh"`` or ``"relu"``).
"""

import numpy as np

from .base import ElmanCell

__all__ = ["RNNCell"]


class RNNCell(ElmanCell):
    """Elman RNN: the state is written over the input projection, then activated."""

    n_gates = 1

    def step(self, tr, t):
        z = tr.H[t + 1]  # holds the input projection of step t
        np.matmul(tr.W_hh, tr.H[t], out=tr.scratch)
        z += tr.scratch
        tr.phi(z)

    def backward_step(self, tr, bs, t, dh, dc):
        d = bs.dphi(tr.H[t + 1], bs.dz)  # f' from the output (zero-gradient columns aside)
        d *= dh
        return bs.W_hh.T @ d, None
