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

Inside a batch the cell re-lays its weights out, exactly: with the logistic sigmoid it
negates the ``r`` and ``z`` rows, so the sigmoid is one exp of the stored value
(:func:`~skrnn.cells.base.sigmoid_of_negated`); and the biases ride in the recurrent
products, which multiply state buffers carrying a last row of ones, so no pass over the
input projection adds them and backward gets the bias gradients from the same products
as the recurrent weight gradients. At inference (no cache), :class:`GRUCell` keeps ``r`` and
``z`` as ``u = 1 + exp(-x) = 1 / sigmoid(x)`` and divides by ``u`` where it would multiply
by the gate: no reciprocal pass; on large steps it also computes the candidate's tanh
through exp, its rows of every weight and bias scaled by -2
(:func:`~skrnn.cells.base.tanh_by_exp_pays`).
"""

import numpy as np

from .._activations import DERIVATIVE, constant
from .base import BackwardState, Cell, Ring, Trace, gate_functions, tanh_by_exp_pays

__all__ = ["GRUCell", "GRUResetBeforeCell", "make_gru"]


class _GRUBase(Cell):
    n_gates = 3

    def _prepare(self, p, X, h0, keep, n_scale=1):
        """Buffers shared by both forms; returns the trace and the (possibly negated)
        ``b_ih``, ``W_hh`` and ``b_hh``, with the ``n`` rows times ``n_scale``."""
        T, _, n = X.shape
        h = self.hidden
        dtype = X.dtype
        Hb = np.empty((T + 1, h + 1, n), dtype=dtype)  # states and a row of ones
        Hb[:, h] = 1
        Hb[0, :h] = 0 if h0 is None else h0
        tr = Trace(Hb[:, :h], zero_start=h0 is None)
        tr.Hb = Hb
        tr.gate, negated = gate_functions(self.recurrent_activation)
        W_ih, W_hh = p["weight_ih"], p["weight_hh"]
        b_ih, b_hh = p["bias_ih"], p["bias_hh"]
        # r and z rows times -1 with the logistic sigmoid, n rows times n_scale (see the
        # module docstring).
        if negated or n_scale != 1:
            scale = np.full(3 * h, n_scale, dtype=dtype)
            scale[: 2 * h] = -1 if negated else 1
            W_ih, W_hh = W_ih * scale[:, None], W_hh * scale[:, None]
            b_ih, b_hh = b_ih * scale, b_hh * scale
        # The input projection of every step at once; steps overwrite it with their gates.
        tr.A = np.matmul(W_ih, X)
        tr.W_ih = W_ih  # kept for feed
        tr.scratch = np.empty((h, n), dtype=dtype)
        return tr, b_ih, W_hh, b_hh

    def feed(self, tr, t, x):
        np.matmul(tr.W_ih, x, out=tr.A[t])  # step t's input projection

    def _start_backward(self, p, tr, widths):
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
        bs.tmp_ih = np.empty((3 * h, d), dtype=dtype)
        bs.dWb = [np.zeros((rows, h + 1), dtype=dtype) for rows in widths]
        bs.tmp_hb = [np.empty((rows, h + 1), dtype=dtype) for rows in widths]
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
        one = constant(1, dn.dtype)
        np.multiply(n, n, out=dn)  # dn_pre = dh * (1 - u) * (1 - n^2)
        np.subtract(one, dn, out=dn)
        np.subtract(one, u, out=bs.scratch)
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
    """GRU with the reset gate after the recurrent product (``reset_after=True``).

    The recurrent product of a step is ``[W_hh, c] [h_{t-1}; 1]`` with
    ``c = [b_ir + b_hr; b_iz + b_hz; b_hn]``; only ``b_in`` is added to the input
    projection, since ``r`` multiplies ``W_hn h + b_hn`` but not it.
    """

    def start_forward(self, p, X, h0, c0, keep):
        h = self.hidden
        inference = not keep and self.recurrent_activation == "sigmoid"
        # At inference on large steps, tanh(a) = 2 / (1 + exp(-2a)) - 1: the n rows of
        # every weight and bias times -2 give -2a directly.
        tanh_by_exp = inference and tanh_by_exp_pays(h, X.shape[2])
        tr, b_ih, W_hh, b_hh = self._prepare(p, X, h0, keep, -2 if tanh_by_exp else 1)
        c = b_hh.copy()
        c[: 2 * h] += b_ih[: 2 * h]
        tr.Wb = np.hstack([W_hh, c[:, None]])
        tr.b_in = b_ih[2 * h:, None]  # kept for feed
        tr.A[:, 2 * h:] += tr.b_in
        T, n = X.shape[0], X.shape[2]
        # Each step's recurrent product is kept: its n rows (W_hn h + b_hn) are needed
        # by backward.
        tr.R = (np.empty((T, 3 * h, n), dtype=X.dtype) if keep
                else Ring((3 * h, n), X.dtype))
        tr.views = None
        if inference:
            # r and z stay as u = 1 + exp(-x) = 1 / sigma(x), and their products are
            # divisions by u: no reciprocal pass.
            tr.one, tr.two = constant(1, X.dtype), constant(2, X.dtype)
            tr.tanh_by_exp = tanh_by_exp
            tr.views = [(s, s[: 2 * h], s[2 * h:]) for s in tr.R.slots]
        return tr

    def feed(self, tr, t, x):
        super().feed(tr, t, x)
        tr.A[t, 2 * self.hidden:] += tr.b_in  # b_in rides in the projection, as above

    def step(self, tr, t):
        h = self.hidden
        z = tr.A[t]
        if tr.views is not None:
            rec, rec_rz, rec_n = tr.views[t & 1]
            np.matmul(tr.Wb, tr.Hb[t], out=rec)
            rz, n = z[: 2 * h], z[2 * h:]
            rz += rec_rz
            np.exp(rz, out=rz)
            rz += tr.one  # [u_r; u_z]
            scratch = tr.scratch
            np.divide(rec_n, z[:h], out=scratch)  # r * (W_hn h + b_hn)
            n += scratch
            if tr.tanh_by_exp:  # n holds -2a
                np.exp(n, out=n)
                n += tr.one
                np.divide(tr.two, n, out=n)
                n -= tr.one
            else:
                np.tanh(n, out=n)
            hnew = tr.H[t + 1]
            np.subtract(tr.H[t], n, out=hnew)  # h_t = n + z * (h_{t-1} - n)
            np.divide(hnew, z[h: 2 * h], out=hnew)
            hnew += n
            return
        rec = tr.R[t]
        np.matmul(tr.Wb, tr.Hb[t], out=rec)
        z[: 2 * h] += rec[: 2 * h]
        tr.gate(z[: 2 * h])
        np.multiply(z[:h], rec[2 * h:], out=tr.scratch)  # r * (W_hn h + b_hn)
        z[2 * h:] += tr.scratch
        self._update(tr, t)

    def start_backward(self, p, tr):
        bs = self._start_backward(p, tr, (3 * self.hidden,))
        bs.drec = np.empty_like(bs.dz)  # gradient of the recurrent product
        bs.db_in = np.zeros(self.hidden, dtype=bs.dz.dtype)
        return bs

    def backward_step(self, tr, bs, t, dh, dc):
        h = self.hidden
        z = tr.A[t]
        r, u = z[:h], z[h: 2 * h]
        du, dn = self._common_backward(tr, bs, t, dh)
        dr = bs.dz[:h]
        bs.dgate(r, dr)
        dr *= tr.R[t][2 * h:]
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
        np.matmul(bs.drec, tr.Hb[t].T, out=bs.tmp_hb[0])  # [dW_hh, db_hh]
        bs.dWb[0] += bs.tmp_hb[0]
        bs.db_in += bs.dz[2 * self.hidden:].sum(axis=1)

    def finish_backward(self, tr, bs):
        h = self.hidden
        db_hh = bs.dWb[0][:, h].copy()
        db_ih = db_hh.copy()  # r and z: the same sums
        db_ih[2 * h:] = bs.db_in
        return {"weight_ih": bs.dW_ih, "weight_hh": np.ascontiguousarray(bs.dWb[0][:, :h]),
                "bias_ih": db_ih, "bias_hh": db_hh}


class GRUResetBeforeCell(_GRUBase):
    """GRU with the reset gate before the recurrent product (``reset_after=False``).

    Two recurrent products a step: ``[W_hr; W_hz | b_rz] [h_{t-1}; 1]`` and
    ``[W_hn | b_n] [r_t h_{t-1}; 1]``, each bias the sum of the input and recurrent one.
    """

    def start_forward(self, p, X, h0, c0, keep):
        h = self.hidden
        tr, b_ih, W_hh, b_hh = self._prepare(p, X, h0, keep)
        b = (b_ih + b_hh)[:, None]
        tr.W_rz = np.hstack([W_hh[: 2 * h], b[: 2 * h]])
        tr.W_n = np.hstack([W_hh[2 * h:], b[2 * h:]])
        T, n = X.shape[0], X.shape[2]
        # r_t * h_{t-1} of every step, with a row of ones for the n bias.
        if keep:
            tr.RH = np.empty((T, h + 1, n), dtype=X.dtype)
            tr.RH[:, h] = 1
        else:
            tr.RH = Ring((h + 1, n), X.dtype)
            tr.RH.slots[:, h] = 1
        tr.rec = np.empty((2 * h, n), dtype=X.dtype)
        return tr

    def step(self, tr, t):
        h = self.hidden
        z = tr.A[t]
        np.matmul(tr.W_rz, tr.Hb[t], out=tr.rec)
        z[: 2 * h] += tr.rec
        tr.gate(z[: 2 * h])
        rh = tr.RH[t]
        np.multiply(z[:h], tr.H[t], out=rh[:h])
        np.matmul(tr.W_n, rh, out=tr.scratch)
        z[2 * h:] += tr.scratch
        self._update(tr, t)

    def start_backward(self, p, tr):
        h = self.hidden
        return self._start_backward(p, tr, (2 * h, h))

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
        np.matmul(bs.dz[: 2 * h], tr.Hb[t].T, out=bs.tmp_hb[0])
        bs.dWb[0] += bs.tmp_hb[0]
        np.matmul(bs.dz[2 * h:], tr.RH[t].T, out=bs.tmp_hb[1])
        bs.dWb[1] += bs.tmp_hb[1]

    def finish_backward(self, tr, bs):
        h = self.hidden
        dWb = np.vstack(bs.dWb)
        db = dWb[:, h].copy()
        return {"weight_ih": bs.dW_ih, "weight_hh": np.ascontiguousarray(dWb[:, :h]),
                "bias_ih": db, "bias_hh": db.copy()}


def make_gru(config, layer):
    """The GRU form that ``config.reset_after`` selects."""
    cls = GRUCell if config.reset_after else GRUResetBeforeCell
    return cls(config, layer)
