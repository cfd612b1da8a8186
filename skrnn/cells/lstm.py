r"""The LSTM cell, ``cell="lstm"``: gates ``i, f, g, o`` in its parameters, as ``torch.nn.LSTM``.

With :math:`\sigma` the gate activation (sigmoid, or Keras' hard sigmoid
``clip(0.2 z + 0.5, 0, 1)``) and :math:`\odot` the elementwise product:

.. math::
    i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
    f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
    g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
    o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

Inside a batch the cell re-lays its weights out three ways, all exact:

- gate rows in the order ``i, f, o, g``, so the three sigmoid gates are one block (one call
  per elementwise operation on them, forward and backward);
- with the logistic sigmoid, those rows negated, so ``sigmoid(x) = 1 / (1 + exp(-x))`` is
  one exp of the stored value (:func:`~skrnn.cells.base.sigmoid_of_negated`);
- one matrix ``[W_hh, W_ih, b]`` multiplied once per step by a stacked buffer
  ``S[t] = [h_{t-1}; x_t; 1]``, whose top rows are the states: the input and recurrent
  products in one, no separate pass to add them, and in backward one product per step
  for ``dW_hh``, ``dW_ih`` and the bias gradient together.

At inference (no cache) with the logistic sigmoid, a step has fewer NumPy calls and passes:

- the ``g`` rows are also scaled, by -2, so that one exp covers all four gates:
  ``tanh(x) = 2 / (1 + exp(-2x)) - 1``;
- the sigmoid gates stay as ``u = 1 + exp(-x) = 1 / sigmoid(x)`` and every product with a
  gate is a division by its ``u`` (no reciprocal pass);
- each of two alternating step slots holds ``[u_i, u_f, u_o, g, c]``, so ``i g`` and
  ``f c_{t-1}`` are one division, and the views a step reads are made once per batch;
- on large steps, ``tanh(c)`` is computed the same way, through exp
  (:func:`~skrnn.cells.base.tanh_by_exp_pays`);
- :meth:`LSTMCell.run` binds everything a step reads once per stretch of steps.

Gradients are returned in PyTorch's gate order.
"""

import numpy as np

from .._activations import DERIVATIVE, constant
from .base import BackwardState, Cell, Ring, Trace, gate_functions, tanh_by_exp_pays

__all__ = ["LSTMCell"]


def swap_o_g(A, hidden):
    """Swap the last two of the four row blocks of a C-contiguous ``A`` (4 * hidden, ...) in
    place and return it: PyTorch's gate order i, f, g, o becomes the cell's i, f, o, g, and
    back (the swap is its own inverse)."""
    blocks = A.reshape(4, hidden, -1)
    blocks[2:] = blocks[[3, 2]]
    return A


class LSTMCell(Cell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with a forget gate)."""

    n_gates = 4
    has_cell_state = True

    def init_params(self, rng, init="orthogonal"):
        params = super().init_params(rng, init)
        if init == "orthogonal":
            # Forget gate bias 1: gradients flow through c early in training
            # (Jozefowicz et al., 2015).
            h = self.hidden
            params["bias_ih"][h: 2 * h] = 1.0
        return params

    def start_forward(self, p, X, h0, c0, keep):
        T, d, n = X.shape
        h = self.hidden
        dtype = X.dtype
        S = np.empty((T + 1, h + d + 1, n), dtype=dtype)
        S[0, :h] = 0 if h0 is None else h0
        S[:T, h: h + d] = X
        S[:T, -1] = 1  # S[T] holds only the final state: its other rows are never read
        tr = Trace(S[:, :h], None, zero_start=h0 is None)
        tr.S = S
        tr.gate, negated = gate_functions(self.recurrent_activation)
        inference = not keep and negated
        # The g rows times -2 at inference: tanh(x) = 2 / (1 + exp(-2x)) - 1, one exp for
        # all four gates.
        tr.W = self._stacked_weights(p, dtype, -1 if negated else 1, -2 if inference else 1)
        tr.W_x = tr.W[:, h:]
        tr.views = None
        if inference:
            self._inference_buffers(tr, n, dtype, c0)
            return tr
        # One block per step, rows [i, f, o, g, c_{t-1}, tanh(c_t)]: C[t] is the fifth row
        # block of step t's block, so the products of a step pair aligned blocks (see step
        # and backward_step). Inference keeps two alternating blocks.
        if keep:
            tr.B = np.empty((T + 1, 6 * h, n), dtype=dtype)
            tr.C = tr.B[:, 4 * h: 5 * h]
        else:
            tr.B = Ring((6 * h, n), dtype)
            tr.C = Ring.over(tr.B.slots[:, 4 * h: 5 * h])
        tr.C[0][...] = 0 if c0 is None else c0
        tr.products = np.empty((2 * h, n), dtype=dtype)
        return tr

    def _stacked_weights(self, p, dtype, gate_sign, g_scale):
        """``[W_hh, W_ih, b_ih + b_hh]`` with rows in the order i, f, o, g, the sigmoid
        gates' rows times ``gate_sign`` and the ``g`` rows times ``g_scale``: an array of
        shape (4 * hidden, hidden + input_size + 1)."""
        h, d = self.hidden, self.input_size
        W = np.empty((4 * h, h + d + 1), dtype=dtype)
        W[:, :h] = p["weight_hh"]
        W[:, h: h + d] = p["weight_ih"]
        np.add(p["bias_ih"], p["bias_hh"], out=W[:, -1], casting="same_kind")
        swap_o_g(W, h)
        if gate_sign != 1 or g_scale != 1:
            scale = np.array([gate_sign, gate_sign, gate_sign, g_scale], dtype=dtype)
            blocks = W.reshape(4, h, -1)
            blocks *= scale[:, None, None]
        return W

    def _inference_buffers(self, tr, n, dtype, c0):
        """Inference with the logistic sigmoid: two step slots of rows
        ``[u_i, u_f, u_o, g, c]``, where ``u = 1 + exp(-x) = 1 / sigmoid(x)``, and the views
        each step reads, made once."""
        h = self.hidden
        R = np.zeros((2, 5 * h, n), dtype=dtype)
        if c0 is not None:
            R[0, 4 * h:] = c0
        tr.C = Ring.over(R[:, 4 * h:])
        tr.one, tr.two, tr.minus_two = (constant(1, dtype), constant(2, dtype),
                                        constant(-2, dtype))
        tr.tanh_by_exp = tanh_by_exp_pays(h, n)  # tanh(c) = 2 / (1 + exp(-2c)) - 1
        tmp = np.empty((2 * h, n), dtype=dtype)
        tr.views = [(R[k, : 4 * h], R[k, 3 * h: 4 * h], R[k, 3 * h:], R[k, : 2 * h],
                     R[k, 2 * h: 3 * h], R[1 - k, 4 * h:], tmp, tmp[:h], tmp[h:])
                    for k in (0, 1)]

    def step(self, tr, t):
        if tr.views is not None:
            self.run(tr, t, t + 1)
            return
        h = self.hidden
        b, b_next = tr.B[t], tr.B[t + 1]
        z = b[: 4 * h]
        if t == 0 and tr.zero_start:  # h_{-1} = 0: only [W_ih, b] [x_0; 1]
            np.matmul(tr.W_x, tr.S[0, h:], out=z)
        else:
            np.matmul(tr.W, tr.S[t], out=z)
        tr.gate(z[: 3 * h])
        np.tanh(z[3 * h:], out=z[3 * h:])  # g
        ig_fc = tr.products
        np.multiply(b[: 2 * h], b[3 * h: 5 * h], out=ig_fc)  # [i g; f c_{t-1}]
        c = b_next[4 * h: 5 * h]
        np.add(ig_fc[:h], ig_fc[h:], out=c)
        tc = b[5 * h:]
        np.tanh(c, out=tc)
        np.multiply(b[2 * h: 3 * h], tc, out=tr.H[t + 1])

    def run(self, tr, start, stop):
        if tr.views is None:
            return super().run(tr, start, stop)
        # Inference: the sigmoid gates stay as u = 1 / sigma, and each product with a gate
        # is a division by its u (i g, f c and o tanh(c)): no reciprocal pass. Everything a
        # step reads is bound to a local name once per stretch of steps.
        h = self.hidden
        matmul, exp, divide, add, tanh = np.matmul, np.exp, np.divide, np.add, np.tanh
        W, W_x, S, H, views = tr.W, tr.W_x, tr.S, tr.H, tr.views
        one, two, minus_two, tanh_by_exp = tr.one, tr.two, tr.minus_two, tr.tanh_by_exp
        for t in range(start, stop):
            z, g, gc, u_if, u_o, c, tmp, ig, fc = views[t & 1]
            if t == 0 and tr.zero_start:  # h_{-1} = 0: only [W_ih, b] [x_0; 1]
                matmul(W_x, S[0, h:], out=z)
            else:
                matmul(W, S[t], out=z)
            exp(z, out=z)
            z += one
            divide(two, g, out=g)
            g -= one
            divide(gc, u_if, out=tmp)  # [i g; f c_{t-1}]
            add(ig, fc, out=c)
            if tanh_by_exp:  # g is spent: tanh(c) in its place
                np.multiply(c, minus_two, out=g)
                exp(g, out=g)
                g += one
                divide(two, g, out=g)
                g -= one
            else:
                tanh(c, out=g)
            divide(g, u_o, out=H[t + 1])

    def start_backward(self, p, tr):
        h = self.hidden
        n = tr.S.shape[2]
        dtype = tr.S.dtype
        bs = BackwardState()
        W = self._stacked_weights(p, dtype, 1, 1)  # the gate order of forward, unscaled
        bs.W_hh, bs.W_ih = W[:, :h], W[:, h: h + self.input_size]
        bs.dgate = DERIVATIVE[self.recurrent_activation]
        bs.one = constant(1, dtype)
        bs.dz = np.empty((4 * h, n), dtype=dtype)
        # Two alternating slots for the state gradients a step returns: the core hands them
        # back as the next step's dh and dc, and may change them in place.
        bs.dh = np.empty((2, h, n), dtype=dtype)
        bs.dc = np.empty((2, h, n), dtype=dtype)
        bs.dW = np.zeros((4 * h, tr.S.shape[1]), dtype=dtype)
        bs.tmp = np.empty_like(bs.dW)
        return bs

    def backward_step(self, tr, bs, t, dh, dc):
        h = self.hidden
        b = tr.B[t]  # rows i, f, o (activated), g, c_{t-1}, tanh(c_t)
        i, f, o, g = b[:h], b[h: 2 * h], b[2 * h: 3 * h], b[3 * h: 4 * h]
        tc = b[5 * h:]
        dz = bs.dz
        bs.dgate(b[: 3 * h], dz[: 3 * h])  # sigma' of i, f, o at once
        dz[: 3 * h] *= b[3 * h:]  # times [g; c_{t-1}; tanh(c_t)]
        one = bs.one
        dct = bs.dc[t & 1]  # dc_total = dc + dh * o * (1 - tanh(c)^2)
        np.multiply(tc, tc, out=dct)
        np.subtract(one, dct, out=dct)
        dct *= o
        dct *= dh
        dct += dc
        di_df = dz[: 2 * h].reshape(2, h, -1)
        di_df *= dct  # di, df times dc_total
        dz[2 * h: 3 * h] *= dh  # do = dh * tanh(c) * sigma'(o)
        dg = dz[3 * h:]
        np.multiply(g, g, out=dg)  # dg = dc_total * i * (1 - g^2)
        np.subtract(one, dg, out=dg)
        dg *= i
        dg *= dct
        dct *= f  # now the gradient w.r.t. c_{t-1}
        return np.matmul(bs.W_hh.T, dz, out=bs.dh[t & 1]), dct

    def accumulate(self, tr, bs, t, x):
        # dz S[t]^T: the gradients of W_hh, W_ih and the bias in one product.
        np.matmul(bs.dz, tr.S[t].T, out=bs.tmp)
        bs.dW += bs.tmp

    def finish_backward(self, tr, bs):
        h, d = self.hidden, self.input_size
        out = swap_o_g(bs.dW, h)  # back to PyTorch's gate order
        db = out[:, -1].copy()
        return {"weight_ih": np.ascontiguousarray(out[:, h: h + d]),
                "weight_hh": np.ascontiguousarray(out[:, :h]), "bias_ih": db,
                "bias_hh": db.copy()}

    def feed(self, tr, t, x):
        # The stacked buffer S[t] = [h_{t-1}; x_t; 1] is all start_forward makes of X.
        h = self.hidden
        tr.S[t, h: h + self.input_size] = x
