r"""The GRU cell, ``cell="gru"``, in both published forms; gates ``r, z, n`` as ``torch.nn.GRU``.

``reset_after=True`` (PyTorch, cuDNN, Keras' default), :class:`GRUCell`:

.. math::
    r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
    z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
    n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

``reset_after=False`` (Cho et al. 2014, the source documents' formula),
:class:`GRUResetBeforeCell`, where the reset gate scales the state *before* the recurrent
product:

.. math::  n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})

The source documents write the update as :math:`h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t`;
that is the same cell with the roles of :math:`z` and :math:`1 - z` exchanged. We follow
PyTorch so that weights map one to one onto ``nn.GRU``.

With the logistic sigmoid, the cell negates the ``r`` and ``z`` rows of its weights inside
a batch (exact), so the sigmoid is one exp of the stored value.
"""

import numpy as np

from .._activations import DERIVATIVE
from .base import BackwardState, Cell, Ring, Trace, gate_functions

__all__ = ["GRUCell", "GRUResetBeforeCell", "make_gru"]


class _GRUBase(Cell):
    n_gates = 3

    def _input_bias(self, p):
        """The bias added to the input projection (both biases of r and z at least)."""
        return p["bias_ih"] + p["bias_hh"]

    def start_forward(self, p, X, h0, c0, keep):
        T, _, n = X.shape
        h = self.hidden
        dtype = X.dtype
        H = np.empty((T + 1, h, n), dtype=dtype)
        H[0] = 0 if h0 is None else h0
        tr = Trace(H, zero_start=h0 is None)
        gate, negated = gate_functions(self.recurrent_activation)
        W_ih, W_hh, bias = p["weight_ih"], p["weight_hh"], self._input_bias(p)
        if negated:  # r and z rows times -1 (see the module docstring)
            scale = np.ones(3 * h, dtype=dtype)
            scale[: 2 * h] = -1
            W_ih, W_hh, bias = W_ih * scale[:, None], W_hh * scale[:, None], bias * scale
        tr.gate = gate
        tr.W_hh = W_hh
        # The input projection of every step at once; steps overwrite it with their gates.
        tr.A = np.matmul(W_ih, X)
        tr.A += bias[:, None]
        tr.aux = np.empty((T, h, n), dtype=dtype) if keep else Ring((h, n), dtype)
        tr.scratch = np.empty((3 * h, n), dtype=dtype)
        tr.scratch2 = np.empty((h, n), dtype=dtype)
        return tr

    def start_backward(self, p, tr):
        h, d = self.hidden, self.input_size
        n = tr.H.shape[2]
        dtype = tr.H.dtype
        bs = BackwardState()
        bs.W_ih = p["weight_ih"]
        bs.W_hh = p["weight_hh"]
        bs.dgate = DERIVATIVE[self.recurrent_activation]
        bs.dz = np.empty((3 * h, n), dtype=dtype)
        bs.scratch = np.empty((h, n), dtype=dtype)
        bs.dW_ih = np.zeros((3 * h, d), dtype=dtype)
        bs.dW_hh = np.zeros((3 * h, h), dtype=dtype)
        bs.db_ih = np.zeros(3 * h, dtype=dtype)
        bs.tmp_ih = np.empty((3 * h, d), dtype=dtype)
        bs.tmp_hh = np.empty((3 * h, h), dtype=dtype)
        return bs

    def _common_backward(self, tr, bs, t, dh):
        """Gradients of the z and n pre-activations, as views of ``bs.dz``."""
        h = self.hidden
        z = tr.A[t]
        u, n = z[h: 2 * h], z[2 * h:]
        hp = tr.H[t]
        du, dn = bs.dz[h: 2 * h], bs.dz[2 * h:]
        bs.dgate(u, du)  # du = dh * (h_prev - n) * sigma'(u)
        np.subtract(hp, n, out=bs.scratch)
        du *= bs.scratch
        du *= dh
        np.multiply(n, n, out=dn)  # dn_pre = dh * (1 - u) * (1 - n^2)
        np.subtract(1, dn, out=dn)
        np.subtract(1, u, out=bs.scratch)
        dn *= bs.scratch
        dn *= dh
        return du, dn

    def _update(self, tr, t):
        """``h_t = n + u * (h_{t-1} - n)`` from the activated gates of step ``t``."""
        h = self.hidden
        z = tr.A[t]
        u, n = z[h: 2 * h], z[2 * h:]
        np.tanh(n, out=n)
        hnew = tr.H[t + 1]
        np.subtract(tr.H[t], n, out=hnew)
        hnew *= u
        hnew += n


class GRUCell(_GRUBase):
    """GRU with the reset gate after the recurrent product (``reset_after=True``)."""

    def _input_bias(self, p):
        h = self.hidden
        bias = p["bias_ih"].copy()
        bias[: 2 * h] += p["bias_hh"][: 2 * h]  # b_hn sits inside r * (W_hn h + b_hn)
        return bias

    def start_forward(self, p, X, h0, c0, keep):
        tr = super().start_forward(p, X, h0, c0, keep)
        tr.b_hn = p["bias_hh"][2 * self.hidden:, None]
        return tr

    def step(self, tr, t):
        h = self.hidden
        z = tr.A[t]
        rec = tr.scratch
        np.matmul(tr.W_hh, tr.H[t], out=rec)
        z[: 2 * h] += rec[: 2 * h]
        tr.gate(z[: 2 * h])
        hn = tr.aux[t]  # W_hn h_{t-1} + b_hn
        np.add(rec[2 * h:], tr.b_hn, out=hn)
        np.multiply(z[:h], hn, out=tr.scratch2)
        z[2 * h:] += tr.scratch2
        self._update(tr, t)

    def start_backward(self, p, tr):
        bs = super().start_backward(p, tr)
        bs.drec = np.empty_like(bs.dz)  # gradient of W_hh h_{t-1} + b_hh
        bs.db_hh = np.zeros_like(bs.db_ih)
        return bs

    def backward_step(self, tr, bs, t, dh, dc):
        h = self.hidden
        z = tr.A[t]
        r, u = z[:h], z[h: 2 * h]
        du, dn = self._common_backward(tr, bs, t, dh)
        dr = bs.dz[:h]
        bs.dgate(r, dr)
        dr *= tr.aux[t]
        dr *= dn
        drec = bs.drec
        drec[: 2 * h] = bs.dz[: 2 * h]
        np.multiply(dn, r, out=drec[2 * h:])
        dh_prev = bs.W_hh.T @ drec
        dh_prev += np.multiply(dh, u, out=bs.scratch)
        return dh_prev, None

    def accumulate(self, tr, bs, t, x):
        np.matmul(bs.dz, x.T, out=bs.tmp_ih)
        bs.dW_ih += bs.tmp_ih
        bs.db_ih += bs.dz.sum(axis=1)
        bs.db_hh += bs.drec.sum(axis=1)
        if t > 0 or not tr.zero_start:
            np.matmul(bs.drec, tr.H[t].T, out=bs.tmp_hh)
            bs.dW_hh += bs.tmp_hh

    def finish_backward(self, tr, bs):
        return {"weight_ih": bs.dW_ih, "weight_hh": bs.dW_hh, "bias_ih": bs.db_ih,
                "bias_hh": bs.db_hh}


class GRUResetBeforeCell(_GRUBase):
    """GRU with the reset gate before the recurrent product (``reset_after=False``)."""

    def step(self, tr, t):
        h = self.hidden
        z = tr.A[t]
        hp = tr.H[t]
        rec = tr.scratch[: 2 * h]
        np.matmul(tr.W_hh[: 2 * h], hp, out=rec)
        z[: 2 * h] += rec
        tr.gate(z[: 2 * h])
        rh = tr.aux[t]  # r_t * h_{t-1}
        np.multiply(z[:h], hp, out=rh)
        np.matmul(tr.W_hh[2 * h:], rh, out=tr.scratch2)
        z[2 * h:] += tr.scratch2
        self._update(tr, t)

    def backward_step(self, tr, bs, t, dh, dc):
        h = self.hidden
        z = tr.A[t]
        r, u = z[:h], z[h: 2 * h]
        hp = tr.H[t]
        du, dn = self._common_backward(tr, bs, t, dh)
        drh = bs.W_hh[2 * h:].T @ dn
        dr = bs.dz[:h]
        bs.dgate(r, dr)
        dr *= hp
        dr *= drh
        dh_prev = bs.W_hh[: 2 * h].T @ bs.dz[: 2 * h]
        drh *= r
        dh_prev += drh
        dh_prev += np.multiply(dh, u, out=bs.scratch)
        return dh_prev, None

    def accumulate(self, tr, bs, t, x):
        h = self.hidden
        np.matmul(bs.dz, x.T, out=bs.tmp_ih)
        bs.dW_ih += bs.tmp_ih
        bs.db_ih += bs.dz.sum(axis=1)
        if t > 0 or not tr.zero_start:
            np.matmul(bs.dz[: 2 * h], tr.H[t].T, out=bs.tmp_hh[: 2 * h])
            np.matmul(bs.dz[2 * h:], tr.aux[t].T, out=bs.tmp_hh[2 * h:])
            bs.dW_hh += bs.tmp_hh

    def finish_backward(self, tr, bs):
        return {"weight_ih": bs.dW_ih, "weight_hh": bs.dW_hh, "bias_ih": bs.db_ih,
                "bias_hh": bs.db_ih.copy()}


def make_gru(config, layer):
    """The GRU form that ``config.reset_after`` selects."""
    cls = GRUCell if config.reset_after else GRUResetBeforeCell
    return cls(config, layer)
