r"""The recurrent cells as pure step functions on preallocated, feature-major buffers.

A cell holds no state. For one layer and direction the core (:mod:`skrnn._bptt`) allocates a
:class:`Trace` of time-major buffers in which every step's arrays are laid out
``(features, n_sequences)``, so each gate is one contiguous block. A cell's ``forward_step``
reads step ``t`` of the trace (the input projection ``A[t]``, the previous state ``H[t]``) and
writes the new state ``H[t + 1]``; its ``backward_step`` takes the gradient with respect to
the state after step ``t`` and returns the gradient with respect to the state before it,
writing the gradient of step ``t``'s gate pre-activations into ``dz`` (and, where it differs,
of its recurrent product into ``drec``), from which the core accumulates weight gradients.

Parameters follow PyTorch's layout exactly: ``weight_ih`` of shape
``(n_gates * hidden, input)``, ``weight_hh`` of shape ``(n_gates * hidden, hidden)``, biases
``bias_ih`` and ``bias_hh`` of shape ``(n_gates * hidden,)``, gates stacked in the order below.
With :math:`\sigma` the recurrent activation (sigmoid, or Keras' hard sigmoid
``clip(0.2 z + 0.5, 0, 1)``) and :math:`\odot` the elementwise product:

``"rnn"`` (Elman; one gate block; :math:`\phi` is ``tanh`` or ``relu``)

.. math::  h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

``"clockwork"`` (Koutník et al. 2014): the state is split into modules of equal size with
clock periods :math:`T_1 < T_2 < \dots`, fastest first; at step :math:`t` module :math:`i`
updates like an Elman RNN only if :math:`t \bmod T_i = 0` and keeps its state otherwise;
:math:`W_{hh}` is block upper-triangular, so each module hears itself and the slower modules.

``"lstm"`` (gates ``i, f, g, o``)

.. math::
    i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
    f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
    g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
    o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

``"gru"`` (gates ``r, z, n``), ``reset_after=True`` (PyTorch, cuDNN, Keras' default)

.. math::
    r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
    z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
    n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

and ``reset_after=False`` (Cho et al. 2014, the source documents' formula), where the reset
gate scales the state *before* the recurrent product:

.. math::  n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})

The source documents write the GRU update as :math:`h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t`;
that is the same cell with the roles of :math:`z` and :math:`1 - z` exchanged. We follow
PyTorch so that weights map one to one onto ``nn.GRU``.
"""

from dataclasses import dataclass, field

import numpy as np

from ._activations import DERIVATIVE, FORWARD

__all__ = ["CELLS", "StepContext", "Trace", "n_gates", "sigmoid_gate_scale"]


@dataclass
class Trace:
    """Buffers of one layer and direction over one batch, all time-major.

    Attributes
    ----------
    A : ndarray of shape (n_timesteps, n_gates * hidden, n_sequences)
        Filled with the input projection plus biases before the loop; a cell overwrites
        step ``t`` with its activated gates. For ``"rnn"`` it is a view of ``H[1:]``.
    H : ndarray of shape (n_timesteps + 1, hidden, n_sequences)
        ``H[0]`` is the initial state, ``H[t + 1]`` the (masked) state after step ``t``.
    C : ndarray of shape (n_timesteps + 1, hidden, n_sequences) or None
        LSTM cell state, like ``H``.
    aux : ndarray of shape (n_timesteps, hidden, n_sequences) or None
        LSTM: ``tanh(c_t)``; GRU, reset after: ``W_hn h_{t-1} + b_hn``; GRU, reset before:
        ``r_t * h_{t-1}``.
    inactive : list of (ndarray of bool of shape (n_sequences,) or None)
        Per step, the sequences already past their end (None when all are active).
    S : ndarray of shape (n_timesteps + 1, hidden + n_inputs + 1, n_sequences) or None
        LSTM: ``S[t]`` stacks ``h_{t-1}``, ``x_t`` and a row of ones, so that one product
        with ``[W_hh, W_ih, b]`` gives all of step ``t``'s gate inputs; ``H`` is then the
        view ``S[:, :hidden]``. ``A`` is filled step by step, not before the loop.
    """

    A: np.ndarray
    H: np.ndarray
    C: np.ndarray = None
    aux: np.ndarray = None
    inactive: list = field(default_factory=list)
    S: np.ndarray = None


@dataclass(frozen=True)
class StepContext:
    """What a step needs besides the trace: weights and activation functions."""

    W_hh: np.ndarray
    b_hn: np.ndarray  # GRU with reset_after: the recurrent n-bias, shape (hidden, 1)
    act: str  # state activation of the vanilla RNN
    rec_act: str  # gate activation of LSTM and GRU
    scratch: np.ndarray  # (n_gates * hidden, n_sequences)
    scratch2: np.ndarray  # (hidden, n_sequences)
    # True when the sigmoid gates' rows of the weights were negated (exact in floating
    # point), so that sigmoid(x) = 1 / (1 + exp(-x)) is one exp of the stored value.
    negated_sigmoid: bool = False
    # Clockwork RNN: per step, the number of leading state rows that update (None: all).
    active_rows: list = None
    # LSTM: [W_hh, W_ih, b] (gate rows permuted and scaled), times the stacked S[t].
    W_cat: np.ndarray = None


def sigmoid_gate_scale(cell, hidden, recurrent_activation):
    """Row scale (-1 on sigmoid gates, 1 elsewhere) for the exp-based sigmoid, or None.

    With the sigmoid gates' pre-activations negated, ``sigmoid(x) = 1 / (1 + exp(-x))``
    takes an exp, an add and a division of the stored value. NumPy's exp is vectorised and
    its tanh is not (on this project's machines): on a gate block alone this was measured
    up to 30% faster than ``(tanh(x / 2) + 1) / 2`` in float32 (nothing gained on the
    smallest blocks) and about 40% in float64, and it is accurate to a
    few ulp everywhere, the tails included (a large negative ``x`` overflows ``exp`` to inf
    and gives exactly 0, so the caller ignores overflow).

    Returns
    -------
    scale : ndarray of shape (n_gates * hidden,) or None
        None when the gates are not logistic (hard sigmoid) or the cell has no gates.
    """
    if recurrent_activation != "sigmoid" or cell not in ("lstm", "gru"):
        return None
    if cell == "lstm":  # internal order i, f, o, g (see lstm_internal_rows): g is tanh
        scale = np.full(4 * hidden, -1.0)
        scale[3 * hidden:] = 1.0
        return scale
    scale = np.full(3 * hidden, -1.0)  # GRU r, z, n: n is tanh
    scale[2 * hidden:] = 1.0
    return scale


def lstm_internal_rows(hidden):
    """Row order of the LSTM's gates inside the core: ``W[lstm_internal_rows(h)]``.

    The parameters keep PyTorch's gate order i, f, g, o; the core permutes the rows to
    i, f, o, g on the way in (and the gradients back on the way out), so that the three
    sigmoid gates are one contiguous block: one call instead of two for each elementwise
    operation on them, forward and backward.

    Returns
    -------
    rows : ndarray of shape (4 * hidden,)
    """
    h = hidden
    return np.r_[0: 2 * h, 3 * h: 4 * h, 2 * h: 3 * h]


def _sigmoid_of_negated(z):
    """Turn ``-x`` into ``sigmoid(x)`` in place (overflow of exp gives exactly 0)."""
    np.exp(z, out=z)
    z += 1.0
    np.divide(1.0, z, out=z)


def _gate_activation(z, ctx):
    """The gates' activation, in place, on rows prepared by :func:`sigmoid_gate_scale`."""
    if ctx.negated_sigmoid:
        _sigmoid_of_negated(z)
    else:
        FORWARD[ctx.rec_act](z)


# ---------------------------------------------------------------------------------- rnn
def rnn_forward(tr, t, ctx):
    z = tr.A[t]  # is H[t + 1]
    np.matmul(ctx.W_hh, tr.H[t], out=ctx.scratch)
    z += ctx.scratch
    FORWARD[ctx.act](z)


def rnn_backward(tr, t, ctx, dh, dc, dz, drec):
    # dh: gradient w.r.t. the new state at the real columns (zero elsewhere).
    d = DERIVATIVE[ctx.act](tr.A[t], dz)
    d *= dh
    return ctx.W_hh.T @ d, None


# ---------------------------------------------------------------------------- clockwork
def check_clock_periods(hidden, periods):
    """Validate Clockwork RNN periods for a state of ``hidden`` units; return them sorted.

    The state is split into ``len(periods)`` modules of equal size, ordered from the fastest
    (smallest period) to the slowest. Each period must divide the next, so that the modules
    updating at any step are always a leading block of rows: the others cost nothing.
    """
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
        ``mask[i, j]`` is True when state unit ``j`` feeds unit ``i``: the recurrent matrix
        is block upper-triangular, modules ordered from fastest to slowest.
    """
    k = hidden // len(periods)
    module = np.arange(hidden) // k
    return module[None, :] >= module[:, None]


def clockwork_active_rows(hidden, periods, T):
    """Per step ``t``, the number of leading rows whose modules update (``t % T_i == 0``)."""
    k = hidden // len(periods)
    return [k * sum(1 for p in periods if t % p == 0) for t in range(T)]


def clockwork_forward(tr, t, ctx):
    a = ctx.active_rows[t]
    z = tr.A[t][:a]  # A[t] is H[t + 1]
    rec = ctx.scratch[:a]
    np.matmul(ctx.W_hh[:a], tr.H[t], out=rec)
    z += rec
    FORWARD[ctx.act](z)
    tr.H[t + 1][a:] = tr.H[t][a:]  # modules off the clock keep their state


def clockwork_backward(tr, t, ctx, dh, dc, dz, drec):
    a = ctx.active_rows[t]
    d = dz
    d[a:] = 0
    da = DERIVATIVE[ctx.act](tr.A[t][:a], d[:a])
    da *= dh[:a]
    dh_prev = ctx.W_hh[:a].T @ da
    dh_prev[a:] += dh[a:]  # the identity of the modules that did not tick
    return dh_prev, None


# --------------------------------------------------------------------------------- lstm
def lstm_forward(tr, t, ctx):
    h = tr.H.shape[1]
    z = tr.A[t]
    np.matmul(ctx.W_cat, tr.S[t], out=z)  # input and recurrent products in one
    # Gate rows in the core's order i, f, o, g (lstm_internal_rows).
    _gate_activation(z[: 3 * h], ctx)
    np.tanh(z[3 * h:], out=z[3 * h:])
    i, f, o, g = z[:h], z[h: 2 * h], z[2 * h: 3 * h], z[3 * h:]
    c = tr.C[t + 1]
    np.multiply(f, tr.C[t], out=c)
    np.multiply(i, g, out=ctx.scratch2)
    c += ctx.scratch2
    tc = tr.aux[t]
    np.tanh(c, out=tc)
    np.multiply(o, tc, out=tr.H[t + 1])


def lstm_backward(tr, t, ctx, dh, dc, dz, drec):
    h = tr.H.shape[1]
    z = tr.A[t]  # gate rows in the core's order i, f, o, g
    i, f, o, g = z[:h], z[h: 2 * h], z[2 * h: 3 * h], z[3 * h:]
    tc = tr.aux[t]
    di, df, do, dg = dz[:h], dz[h: 2 * h], dz[2 * h: 3 * h], dz[3 * h:]
    DERIVATIVE[ctx.rec_act](z[: 3 * h], dz[: 3 * h])  # sigma' of i, f, o at once
    # do = dh * tanh(c) * sigma'(o)
    do *= tc
    do *= dh
    # dc_total = dc + dh * o * (1 - tanh(c)^2)
    dct = np.multiply(tc, tc)
    np.subtract(1, dct, out=dct)
    dct *= o
    dct *= dh
    dct += dc
    di *= g
    di *= dct
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)
    dg *= i
    dg *= dct
    df *= tr.C[t]
    df *= dct
    dct *= f  # now the gradient w.r.t. c_{t-1}
    return ctx.W_hh.T @ dz, dct


# ---------------------------------------------------------------------------------- gru

def gru_after_forward(tr, t, ctx):
    h = tr.H.shape[1]
    z = tr.A[t]
    hp = tr.H[t]
    rec = ctx.scratch
    np.matmul(ctx.W_hh, hp, out=rec)
    z[: 2 * h] += rec[: 2 * h]
    _gate_activation(z[: 2 * h], ctx)
    r, u, n = z[:h], z[h: 2 * h], z[2 * h:]
    hn = tr.aux[t]
    np.add(rec[2 * h:], ctx.b_hn, out=hn)
    np.multiply(r, hn, out=ctx.scratch2)
    n += ctx.scratch2
    np.tanh(n, out=n)
    hnew = tr.H[t + 1]  # h = n + u * (h_prev - n)
    np.subtract(hp, n, out=hnew)
    hnew *= u
    hnew += n


def _gru_common_backward(tr, t, ctx, dh, dz):
    """Gradients of z and of the n pre-activation; returns them as views of ``dz``."""
    h = tr.H.shape[1]
    z = tr.A[t]
    u, n = z[h: 2 * h], z[2 * h:]
    hp = tr.H[t]
    du, dn = dz[h: 2 * h], dz[2 * h:]
    # du = dh * (h_prev - n) * sigma'(u)
    DERIVATIVE[ctx.rec_act](u, du)
    np.subtract(hp, n, out=ctx.scratch2)
    du *= ctx.scratch2
    du *= dh
    # dn_pre = dh * (1 - u) * (1 - n^2)
    np.multiply(n, n, out=dn)
    np.subtract(1, dn, out=dn)
    np.subtract(1, u, out=ctx.scratch2)
    dn *= ctx.scratch2
    dn *= dh
    return du, dn


def gru_after_backward(tr, t, ctx, dh, dc, dz, drec):
    h = tr.H.shape[1]
    z = tr.A[t]
    r, u = z[:h], z[h: 2 * h]
    du, dn = _gru_common_backward(tr, t, ctx, dh, dz)
    dr = dz[:h]
    DERIVATIVE[ctx.rec_act](r, dr)
    dr *= tr.aux[t]
    dr *= dn
    drec[: 2 * h] = dz[: 2 * h]
    np.multiply(dn, r, out=drec[2 * h:])
    dh_prev = ctx.W_hh.T @ drec
    dh_prev += np.multiply(dh, u, out=ctx.scratch2)
    return dh_prev, None


def gru_before_forward(tr, t, ctx):
    h = tr.H.shape[1]
    z = tr.A[t]
    hp = tr.H[t]
    rec = ctx.scratch[: 2 * h]
    np.matmul(ctx.W_hh[: 2 * h], hp, out=rec)
    z[: 2 * h] += rec
    _gate_activation(z[: 2 * h], ctx)
    r, u, n = z[:h], z[h: 2 * h], z[2 * h:]
    rh = tr.aux[t]
    np.multiply(r, hp, out=rh)
    np.matmul(ctx.W_hh[2 * h:], rh, out=ctx.scratch2)
    n += ctx.scratch2
    np.tanh(n, out=n)
    hnew = tr.H[t + 1]
    np.subtract(hp, n, out=hnew)
    hnew *= u
    hnew += n


def gru_before_backward(tr, t, ctx, dh, dc, dz, drec):
    h = tr.H.shape[1]
    z = tr.A[t]
    r, u = z[:h], z[h: 2 * h]
    hp = tr.H[t]
    du, dn = _gru_common_backward(tr, t, ctx, dh, dz)
    drh = ctx.W_hh[2 * h:].T @ dn
    dr = dz[:h]
    DERIVATIVE[ctx.rec_act](r, dr)
    dr *= hp
    dr *= drh
    dh_prev = ctx.W_hh[: 2 * h].T @ dz[: 2 * h]
    drh *= r
    dh_prev += drh
    dh_prev += np.multiply(dh, u, out=ctx.scratch2)
    return dh_prev, None


@dataclass(frozen=True)
class Cell:
    """A cell's step functions and layout facts."""

    name: str
    n_gates: int
    has_cell_state: bool
    forward_step: object
    backward_step: object


CELLS = {
    "rnn": Cell("rnn", 1, False, rnn_forward, rnn_backward),
    "lstm": Cell("lstm", 4, True, lstm_forward, lstm_backward),
    "gru": Cell("gru", 3, False, gru_after_forward, gru_after_backward),
    "gru_reset_before": Cell("gru_reset_before", 3, False, gru_before_forward,
                             gru_before_backward),
    "clockwork": Cell("clockwork", 1, False, clockwork_forward, clockwork_backward),
}


def n_gates(cell):
    """Number of stacked gate blocks of a cell name (``"rnn"``, ``"lstm"``, ``"gru"``)."""
    return CELLS[cell].n_gates
