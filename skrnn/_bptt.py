"""The backpropagation-through-time core shared by every trained estimator.

It runs a stack of (optionally bidirectional) recurrent layers over a zero-padded,
time-major batch ``X`` of shape ``(n_timesteps, n_sequences, n_features)`` with per-sequence
``lengths``, keeps what backward needs, and back-propagates through time with masking,
truncation and inverted dropout between layers. Parameters live in a plain ``dict`` under
PyTorch's names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` and the
``_reverse`` variants), so that a network maps one to one onto ``nn.RNN``/``nn.LSTM``/``nn.GRU``.

How it is fast (DESIGN section 4): the input projection of all steps of a layer is one matrix
product before the loop; inside the loop there is one recurrent product per step (two for
the GRU with the reset gate before the product) and elementwise work on contiguous
``(gates * hidden, n_sequences)`` blocks. Backward accumulates the weight gradients step by
step (a small product per step into one buffer) instead of one product over all steps after
the loop, as DESIGN section 4 planned: measured faster here, and backward then keeps no
per-step gate-gradient buffer (see the training page of the docs). The only Python loop is
the loop over time.

Masking: a sequence that has ended keeps its state (``h_t = h_{t-1}`` at padded steps), so
the state after the last step is each sequence's state at its own last real step, and
padded steps receive no gradient. The backward direction of a bidirectional layer runs over
each sequence reversed within its own length, so it starts at that sequence's last real step.
Outputs at padded steps are zero.
"""

from dataclasses import dataclass

import numpy as np

from ._cells import (
    CELLS,
    StepContext,
    Trace,
    check_clock_periods,
    clockwork_active_rows,
    clockwork_structure,
    lstm_internal_rows,
    sigmoid_gate_scale,
)

__all__ = [
    "RecurrentConfig",
    "ForwardResult",
    "init_params",
    "forward",
    "backward",
    "clip_grad_norm",
    "make_dropout_masks",
    "truncation_cuts",
]


@dataclass(frozen=True)
class RecurrentConfig:
    """The architecture of a recurrent stack.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru", "clockwork"}
        The recurrent cell.
    input_size : int
        Features per time step of the input.
    hidden_sizes : tuple of int
        Width of each stacked layer (per direction).
    bidirectional : bool, default=False
        Whether each layer also runs backward in time; its output is then the forward and
        backward states concatenated, ``2 * hidden`` features.
    activation : {"tanh", "relu"}, default="tanh"
        State activation of the ``"rnn"`` cell.
    recurrent_activation : {"sigmoid", "hard_sigmoid"}, default="sigmoid"
        Gate activation of LSTM and GRU.
    reset_after : bool, default=True
        GRU only: apply the reset gate after the recurrent product (PyTorch) or before it
        (Cho et al. 2014).
    clock_periods : tuple of int or None, default=None
        Clockwork only: the modules' clock periods (each dividing the next); None means
        ``(1, 2, 4, 8)``, the exponential series of Koutník et al.
    """

    cell: str
    input_size: int
    hidden_sizes: tuple
    bidirectional: bool = False
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    reset_after: bool = True
    clock_periods: tuple = None

    @property
    def periods(self):
        """Clockwork periods (validated, sorted) or None for other cells."""
        if self.cell != "clockwork":
            return None
        periods = (1, 2, 4, 8) if self.clock_periods is None else self.clock_periods
        for h in self.hidden_sizes:
            periods = check_clock_periods(h, periods)
        return periods

    def recurrent_mask(self, layer):
        """Boolean (hidden, hidden) mask of allowed recurrent weights, or None (dense)."""
        if self.cell != "clockwork":
            return None
        return clockwork_structure(self.hidden_sizes[layer], self.periods)

    @property
    def n_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def kernel(self):
        if self.cell == "gru" and not self.reset_after:
            return CELLS["gru_reset_before"]
        return CELLS[self.cell]

    @property
    def output_size(self):
        return self.hidden_sizes[-1] * self.n_directions

    def layer_input_size(self, layer):
        if layer == 0:
            return self.input_size
        return self.hidden_sizes[layer - 1] * self.n_directions

    def suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def param_shapes(self):
        """Ordered ``{name: shape}`` in PyTorch's ``named_parameters`` order."""
        G = self.kernel.n_gates
        shapes = {}
        for k, h in enumerate(self.hidden_sizes):
            d = self.layer_input_size(k)
            for s in self.suffixes():
                shapes[f"weight_ih_l{k}{s}"] = (G * h, d)
                shapes[f"weight_hh_l{k}{s}"] = (G * h, h)
                shapes[f"bias_ih_l{k}{s}"] = (G * h,)
                shapes[f"bias_hh_l{k}{s}"] = (G * h,)
        return shapes


def init_params(config, rng, dtype=np.float64):
    """Initialise parameters: Glorot-uniform input weights, orthogonal recurrent weights.

    Biases are zero except the LSTM forget gate's input bias, which is 1 so that gradients
    flow through the cell state early in training (Jozefowicz et al., 2015).

    Parameters
    ----------
    config : RecurrentConfig
    rng : numpy.random.Generator
    dtype : dtype, default=float64

    Returns
    -------
    params : dict of str to ndarray
        In PyTorch's order and names, see :meth:`RecurrentConfig.param_shapes`.
    """
    G = config.kernel.n_gates
    params = {}
    for name, shape in config.param_shapes().items():
        if name.startswith("weight_ih"):
            bound = np.sqrt(6.0 / (shape[1] + shape[0] // G))
            w = rng.uniform(-bound, bound, size=shape)
        elif name.startswith("weight_hh"):
            h = shape[1]
            blocks = []
            for _ in range(G):
                q, r = np.linalg.qr(rng.standard_normal((h, h)))
                blocks.append(q * np.sign(np.diag(r)))
            w = np.vstack(blocks)
            if config.cell == "clockwork":  # structural zeros: slower -> faster only
                w *= clockwork_structure(h, config.periods)
        else:
            w = np.zeros(shape)
            if config.cell == "lstm" and name.startswith("bias_ih"):
                h = shape[0] // 4
                w[h: 2 * h] = 1.0
        params[name] = np.ascontiguousarray(w, dtype=dtype)
    return params


@dataclass
class _LayerCache:
    traces: list  # one Trace per direction
    X: np.ndarray  # (T, d, n) input of the layer, feature-major (after dropout)
    dropout_mask: np.ndarray  # (T, d, n) or None


@dataclass
class ForwardResult:
    """What :func:`forward` returns.

    Attributes
    ----------
    final_states : ndarray of shape (n_sequences, output_size)
        Top layer's state at each sequence's last real step for the forward direction,
        followed by the backward direction's state at step 0 (PyTorch's ``h_n`` order).
    h_n : list of ndarray of shape (n_sequences, hidden)
        Final hidden state of every layer and direction, in PyTorch's ``h_n`` order.
    c_n : list of ndarray of shape (n_sequences, hidden) or None
        LSTM final cell states, same order.
    cache : object or None
        What :func:`backward` needs; None when ``keep_cache=False``.
    """

    final_states: np.ndarray
    h_n: list
    c_n: list
    top: np.ndarray  # (T, output_size, n) feature-major top-layer output
    inactive: list
    cache: object = None

    @property
    def outputs(self):
        """ndarray of shape (n_timesteps, n_sequences, output_size): the top layer's
        states at every step (both directions concatenated), zero at padding."""
        out = np.ascontiguousarray(self.top.transpose(0, 2, 1))
        _zero_padding(out, self.inactive)
        return out


@dataclass
class _Cache:
    layers: list
    lengths: np.ndarray
    reverse_index: np.ndarray  # (T, n) or None
    inactive: list  # per step: bool (n,) or None


def _inactive_steps(lengths, T):
    """Per step, a boolean array of sequences past their end, or None if none are."""
    min_len = int(lengths.min())
    steps = [None] * min(min_len, T)
    for t in range(min_len, T):
        steps.append(lengths <= t)
    return steps


def _reverse_index(lengths, T):
    """Index ``r[t, b]`` that reverses each sequence within its length (self-inverse)."""
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _reverse(a, index):
    """Reverse a feature-major array ``(T, F, n)`` in time within each sequence's length."""
    if index is None:
        return a[::-1]
    return np.take_along_axis(a, index[:, None, :], axis=0)


def _zero_padding(a, inactive):
    """Zero the padded steps of a batch-major array ``(T, n, ...)`` in place."""
    for t, inact in enumerate(inactive):
        if inact is not None:
            a[t, inact] = 0


def _step_context(config, W_hh, b_hn, G, h, n, dtype, negated_sigmoid=False,
                  active_rows=None, W_cat=None):
    return StepContext(
        W_hh=W_hh, b_hn=b_hn, act=config.activation, rec_act=config.recurrent_activation,
        scratch=np.empty((G * h, n), dtype=dtype), scratch2=np.empty((h, n), dtype=dtype),
        negated_sigmoid=negated_sigmoid, active_rows=active_rows, W_cat=W_cat,
    )


def _active_rows(config, h, T):
    if config.cell != "clockwork":
        return None
    return clockwork_active_rows(h, config.periods, T)


class _Ring:
    """Two alternating step slots standing in for a (T + 1, ...) buffer at inference."""

    __slots__ = ("slots",)

    def __init__(self, shape, dtype):
        self.slots = np.zeros((2,) + shape, dtype=dtype)

    def __getitem__(self, t):
        return self.slots[t & 1]


def _run_direction(config, params, layer, suffix, Xf, inactive, keep_states=True):
    """Run one layer in one direction over feature-major ``Xf`` (T, d, n); return its Trace.

    ``trace.H[1:]`` (T, h, n) is the layer's output (states carried over padding).
    """
    kern = config.kernel
    G = kern.n_gates
    T, _, n = Xf.shape
    W_ih = params[f"weight_ih_l{layer}{suffix}"]
    W_hh = params[f"weight_hh_l{layer}{suffix}"]
    b_ih = params[f"bias_ih_l{layer}{suffix}"]
    b_hh = params[f"bias_hh_l{layer}{suffix}"]
    h = W_hh.shape[1]
    dtype = Xf.dtype

    # The LSTM multiplies [W_hh, W_ih, b] by [h_{t-1}; x_t; 1] once per step (Trace.S):
    # no projection buffer for all steps before the loop, no extra pass to add the two
    # products, and at inference one gate buffer that stays in cache (faster here; see
    # docs/training.rst). The GRU's recurrent product is needed on its own (the reset gate
    # multiplies it), so it keeps the separate products.
    fused = kern.name == "lstm"
    with_ones = Xf.shape[1] == W_ih.shape[1] + 1  # layer 0's input carries a row of ones
    S = None
    if fused:
        S = np.empty((T + 1, h + Xf.shape[1] + (0 if with_ones else 1), n), dtype=dtype)
        S[0, :h] = 0
        S[:T, h: h + Xf.shape[1]] = Xf
        S[:T, -1] = 1  # (S[T] holds only the final state: its other rows are never read)
        H = S[:, :h]
        A = (np.empty((T, G * h, n), dtype=dtype) if keep_states
             else _Ring((G * h, n), dtype))
    else:
        H = np.empty((T + 1, h, n), dtype=dtype)
        H[0] = 0
        # Elman-style cells write their state straight over the projection.
        A = (H[1:] if kern.name in ("rnn", "clockwork")
             else np.empty((T, G * h, n), dtype=dtype))
    bias = b_ih + b_hh
    b_hn = None
    if kern.name == "gru":  # reset after: b_hn sits inside r * (W_hn h + b_hn)
        bias = b_ih.copy()
        bias[: 2 * h] += b_hh[: 2 * h]
        b_hn = b_hh[2 * h:, None]
    structure = config.recurrent_mask(layer)
    if structure is not None:  # clockwork: the forward sees only the allowed blocks
        W_hh = W_hh * structure
    if fused:  # the LSTM's gate rows in the core's order i, f, o, g
        rows = lstm_internal_rows(h)
        W_ih, W_hh, bias = W_ih[rows], W_hh[rows], bias[rows]
    scale = sigmoid_gate_scale(config.cell, h, config.recurrent_activation)
    if scale is not None:  # exact: negation only flips the sign bit
        scale = scale.astype(dtype)
        W_ih, W_hh, bias = W_ih * scale[:, None], W_hh * scale[:, None], bias * scale
    W_cat = None
    if fused:
        W_cat = np.hstack([W_hh, W_ih, bias[:, None]])  # S[t]'s last row is ones
    # Otherwise the input projection of every step at once, written straight into the gate
    # buffer; an input with a row of ones (layer 0) takes the bias in the same product.
    elif with_ones:
        np.matmul(np.hstack([W_ih, bias[:, None]]), Xf, out=A)
    else:
        np.matmul(W_ih, Xf, out=A)
        A += bias[:, None]
    trace = Trace(A=A, H=H, inactive=inactive, S=S)
    if kern.has_cell_state:
        if keep_states:
            trace.C = np.empty((T + 1, h, n), dtype=dtype)
            trace.C[0] = 0
        else:
            trace.C = _Ring((h, n), dtype)
    if kern.name in ("lstm", "gru", "gru_reset_before"):
        trace.aux = np.empty((T, h, n), dtype=dtype) if keep_states else _Ring((h, n), dtype)
    ctx = _step_context(config, W_hh, b_hn, G, h, n, dtype,
                        negated_sigmoid=scale is not None,
                        active_rows=_active_rows(config, h, T), W_cat=W_cat)
    step = kern.forward_step
    C = trace.C
    # exp(-x) overflows to inf for a very negative gate input: the sigmoid is then exactly 0.
    with np.errstate(over="ignore"):
        for t in range(T):
            step(trace, t, ctx)
            inact = inactive[t]
            if inact is not None:  # ended sequences keep their state
                np.copyto(H[t + 1], H[t], where=inact)
                if C is not None:
                    np.copyto(C[t + 1], C[t], where=inact)
    return trace


def forward(config, params, X, lengths, *, dropout_masks=None, keep_cache=True):
    """Run the recurrent stack over a padded batch.

    Parameters
    ----------
    config : RecurrentConfig
    params : dict of str to ndarray
        See :meth:`RecurrentConfig.param_shapes`.
    X : ndarray of shape (n_timesteps, n_sequences, input_size)
        Zero-padded, time-major input.
    lengths : ndarray of shape (n_sequences,)
        Real steps of each sequence, each in ``[1, n_timesteps]``.
    dropout_masks : list of ndarray or None, default=None
        For training with dropout: one mask per layer above the first, of shape
        ``(n_timesteps, layer_input_size, n_sequences)`` with entries 0 or ``1 / (1 - p)``
        (see :func:`make_dropout_masks`), multiplied into that layer's input.
    keep_cache : bool, default=True
        Keep what :func:`backward` needs.

    Returns
    -------
    result : ForwardResult
    """
    T, n, _ = X.shape
    lengths = np.asarray(lengths, dtype=np.intp)
    inactive = _inactive_steps(lengths, T)
    equal = inactive[-1] is None
    rev_index = None if equal else _reverse_index(lengths, T)
    layers, h_n, c_n = [], [], []
    # Inside the stack every array is feature-major, (T, features, n): each step's gate
    # block is contiguous, and a layer's states are the next layer's input as they are.
    # Layer 0's input carries an extra row of ones so the bias rides in its projection.
    layer_in = np.empty((T, X.shape[2] + 1, n), dtype=X.dtype)
    layer_in[:, :-1] = X.transpose(0, 2, 1)
    layer_in[:, -1] = 1
    for k in range(len(config.hidden_sizes)):
        mask = None
        if k > 0 and dropout_masks is not None and dropout_masks[k - 1] is not None:
            mask = dropout_masks[k - 1]
            layer_in = layer_in * mask
        traces, outs = [], []
        for s in config.suffixes():
            xin = layer_in if s == "" else _reverse(layer_in, rev_index)
            trace = _run_direction(config, params, k, s, xin, inactive, keep_cache)
            out = trace.H[1:]
            if s == "_reverse":
                out = _reverse(out, rev_index)
            traces.append(trace)
            outs.append(out)
            h_n.append(np.ascontiguousarray(trace.H[T].T))
            if trace.C is not None:
                c_n.append(np.array(trace.C[T].T))
        if keep_cache:
            layers.append(_LayerCache(traces, layer_in, mask))
        layer_in = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)
    D = config.n_directions
    final = h_n[-1] if D == 1 else np.concatenate(h_n[-D:], axis=1)
    cache = _Cache(layers, lengths, rev_index, inactive) if keep_cache else None
    return ForwardResult(final, h_n, c_n if c_n else None, layer_in, inactive, cache)


def truncation_cuts(lengths, T, k):
    """Where truncated BPTT cuts the state gradient.

    ``cuts[t, b]`` is True when the gradient must not flow from step ``t`` back into step
    ``t - 1`` for sequence ``b``: the real steps of each sequence are split into windows of
    ``k`` steps counted back from its last real step, and gradients stay inside a window.
    For a loss at the last step this is Theano's ``truncate_gradient=k``: the last ``k``
    steps receive gradient.

    Returns
    -------
    cuts : ndarray of bool of shape (n_timesteps, n_sequences)
    """
    t = np.arange(T)[:, None]
    L = np.asarray(lengths)[None, :]
    return (t > 0) & (t < L) & ((L - t) % k == 0)


def _backward_direction(config, params, layer, suffix, trace, Xf, d_out, dh_final,
                        cuts, grads, need_dx):
    """Backward through one layer and direction; accumulates into ``grads``.

    ``Xf`` (T, d, n): the direction's input, feature-major, in its own time order;
    ``d_out`` (T, h, n) or None: gradient w.r.t. its outputs (zero at padding);
    ``dh_final`` (n, h) or None: w.r.t. the state after the last step.
    Returns dX (T, d, n) if ``need_dx`` else None.
    """
    kern = config.kernel
    T, _, n = Xf.shape
    W_ih = params[f"weight_ih_l{layer}{suffix}"]
    W_hh = params[f"weight_hh_l{layer}{suffix}"]
    h = W_hh.shape[1]
    G = kern.n_gates
    dtype = Xf.dtype
    active = _active_rows(config, h, T)
    structure = config.recurrent_mask(layer)
    if structure is not None:
        W_hh = W_hh * structure
    lstm_rows = lstm_internal_rows(h) if kern.name == "lstm" else None
    if lstm_rows is not None:  # gate gradients come in the forward's row order
        W_ih, W_hh = W_ih[lstm_rows], W_hh[lstm_rows]
    ctx = _step_context(config, W_hh, None, G, h, n, dtype, active_rows=active)
    # One step's gate gradients; everything that needs them is accumulated in the loop,
    # so backward keeps no per-step buffer besides the input gradient dX.
    dz = np.empty((G * h, n), dtype=dtype)
    drec = np.empty((G * h, n), dtype=dtype) if kern.name == "gru" else dz
    dh = np.zeros((h, n), dtype=dtype) if dh_final is None else np.array(dh_final.T, dtype)
    dc = np.zeros((h, n), dtype=dtype) if kern.has_cell_state else None
    # With layer 0's row of ones, the last column of dW_ih accumulates the bias gradient.
    with_ones = Xf.shape[1] == W_ih.shape[1] + 1
    dW_ih = np.zeros((W_ih.shape[0], Xf.shape[1]), dtype=dtype)
    dW_hh = np.zeros_like(W_hh)
    db_ih = np.zeros(G * h, dtype=dtype)
    db_hh = np.zeros(G * h, dtype=dtype) if drec is not dz else db_ih
    tmp_ih = np.empty_like(dW_ih)
    tmp_hh = np.empty_like(W_hh)
    S = trace.S  # LSTM: [h_{t-1}; x_t; 1] of every step (Trace.S)
    if S is not None:  # then dW_hh, dW_ih and db in one product per step: dz S[t]^T
        dW_cat = np.zeros((G * h, S.shape[1]), dtype=dtype)
        tmp_cat = np.empty_like(dW_cat)
    dX = np.empty((T, W_ih.shape[1], n), dtype=dtype) if need_dx else None
    split_hh = kern.name == "gru_reset_before"
    step = kern.backward_step
    inactive = trace.inactive
    H = trace.H
    for t in range(T - 1, -1, -1):
        if d_out is not None:
            dh += d_out[t]
        inact = inactive[t]
        if inact is not None:
            # Ended sequences: the step was the identity; pass the gradient straight back.
            dh_pass = np.where(inact, dh, 0)
            dh[:, inact] = 0
            if dc is not None:
                dc_pass = np.where(inact, dc, 0)
                dc[:, inact] = 0
        dh_prev, dc_prev = step(trace, t, ctx, dh, dc, dz, drec)
        # Weight gradients, step by step (sum_t dz_t x_t^T): measured faster here than
        # stacking all steps and transposing them for one large product.
        rows = G * h if active is None else active[t]  # clockwork: the ticking rows
        if S is not None:
            np.matmul(dz, S[t].T, out=tmp_cat)
            dW_cat += tmp_cat
        else:
            np.matmul(dz[:rows], Xf[t].T, out=tmp_ih[:rows])
            dW_ih[:rows] += tmp_ih[:rows]
            if not with_ones:
                db_ih[:rows] += dz[:rows].sum(axis=1)
            if drec is not dz:
                db_hh += drec.sum(axis=1)
            if t > 0:  # H[0] (and r * H[0]) is zero: step 0 adds nothing to dW_hh
                if split_hh:
                    np.matmul(dz[: 2 * h], H[t].T, out=tmp_hh[: 2 * h])
                    np.matmul(dz[2 * h:], trace.aux[t].T, out=tmp_hh[2 * h:])
                else:
                    np.matmul(drec[:rows], H[t].T, out=tmp_hh[:rows])
                dW_hh[:rows] += tmp_hh[:rows]
        if need_dx:
            np.matmul(W_ih.T, dz, out=dX[t])
        if inact is not None:
            dh_prev += dh_pass
            if dc is not None:
                dc_prev += dc_pass
        if cuts is not None and t > 0 and cuts[t].any():
            dh_prev[:, cuts[t]] = 0
            if dc_prev is not None:
                dc_prev[:, cuts[t]] = 0
        dh = dh_prev
        if dc is not None:
            dc = dc_prev
    if S is not None:  # columns of [W_hh, W_ih, b]; with a row of ones, b rides in W_ih
        dW_hh = np.ascontiguousarray(dW_cat[:, :h])
        if with_ones:
            dW_ih = dW_cat[:, h:]
        else:
            dW_ih = np.ascontiguousarray(dW_cat[:, h:-1])
            db_ih[...] = dW_cat[:, -1]
    if structure is not None:  # structural zeros get no gradient: they stay zero
        dW_hh *= structure
    if lstm_rows is not None:  # back to PyTorch's gate order
        dW_ih[lstm_rows], dW_hh[lstm_rows] = dW_ih.copy(), dW_hh.copy()
        if not with_ones:
            db_ih[lstm_rows] = db_ih.copy()
    if with_ones:
        db_ih = dW_ih[:, -1].copy()
        dW_ih = np.ascontiguousarray(dW_ih[:, :-1])
        if drec is dz:
            db_hh = db_ih
    grads[f"weight_ih_l{layer}{suffix}"] = dW_ih
    grads[f"weight_hh_l{layer}{suffix}"] = dW_hh
    grads[f"bias_ih_l{layer}{suffix}"] = db_ih
    grads[f"bias_hh_l{layer}{suffix}"] = db_hh.copy()
    if need_dx and with_ones:  # keep the layout of Xf: a (zero) gradient row for the ones
        dX = np.concatenate([dX, np.zeros((T, 1, n), dtype=dtype)], axis=1)
    return dX


def backward(config, params, cache, d_outputs=None, d_final=None, bptt_truncate=None,
             need_input_grad=False):
    """Back-propagate through time.

    Parameters
    ----------
    config : RecurrentConfig
    params : dict of str to ndarray
    cache : object
        ``ForwardResult.cache`` of the matching :func:`forward` call.
    d_outputs : ndarray of shape (n_timesteps, n_sequences, output_size) or None
        Gradient of the loss w.r.t. ``ForwardResult.outputs`` (values at padding ignored).
    d_final : ndarray of shape (n_sequences, output_size) or None
        Gradient w.r.t. ``ForwardResult.final_states``.
    bptt_truncate : int or None
        Truncated BPTT window, see :func:`truncation_cuts`; None for full BPTT.
    need_input_grad : bool, default=False
        Also return the gradient w.r.t. ``X``.

    Returns
    -------
    grads : dict of str to ndarray
        Same keys and shapes as ``params``.
    dX : ndarray of shape (n_timesteps, n_sequences, input_size)
        Only if ``need_input_grad``.
    """
    T = cache.layers[0].X.shape[0]
    lengths = cache.lengths
    rev = cache.reverse_index
    cuts = None if bptt_truncate is None else truncation_cuts(lengths, T, bptt_truncate)
    grads = {}
    d_layer_out = None  # feature-major (T, F, n), zero at padding
    if d_outputs is not None:
        d = d_outputs.copy()
        _zero_padding(d, cache.inactive)
        d_layer_out = np.ascontiguousarray(d.transpose(0, 2, 1))
    n_layers = len(config.hidden_sizes)
    dX = None
    for k in range(n_layers - 1, -1, -1):
        lc = cache.layers[k]
        h = config.hidden_sizes[k]
        need_dx = k > 0 or need_input_grad
        dX = None
        for j, s in enumerate(config.suffixes()):
            d_out = None
            if d_layer_out is not None:
                d_out = d_layer_out[:, j * h: (j + 1) * h]
                d_out = _reverse(d_out, rev) if s == "_reverse" else d_out
            dh_final = None
            if k == n_layers - 1 and d_final is not None:
                dh_final = d_final[:, j * h: (j + 1) * h]
            xin = lc.X if s == "" else _reverse(lc.X, rev)
            dxin = _backward_direction(config, params, k, s, lc.traces[j], xin, d_out,
                                       dh_final, cuts, grads, need_dx)
            if need_dx:
                if s == "_reverse":
                    dxin = _reverse(dxin, rev)
                dX = dxin if dX is None else dX + dxin
        if not need_dx:
            break
        if lc.dropout_mask is not None:
            dX *= lc.dropout_mask
        if k > 0:
            # Padded steps of a layer's output are carried states, not outputs: no gradient.
            for t, inact in enumerate(cache.inactive):
                if inact is not None:
                    dX[t][:, inact] = 0
        d_layer_out = dX
    grads = {name: grads[name] for name in config.param_shapes()}
    if need_input_grad:  # drop the row of ones
        return grads, np.ascontiguousarray(dX[:, :-1].transpose(0, 2, 1))
    return grads


def clip_grad_norm(grads, max_norm):
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : list or dict of ndarray
    max_norm : float or None
        None leaves the gradients unchanged.

    Returns
    -------
    norm : float
        The global norm before clipping.
    """
    arrays = list(grads.values()) if isinstance(grads, dict) else list(grads)
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in arrays)))
    if max_norm is not None and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in arrays:
            g *= scale
    return norm


def make_dropout_masks(config, rng, T, n, rate, dtype=np.float64):
    """Inverted-dropout masks for the inputs of layers above the first.

    Returns
    -------
    masks : list of ndarray of shape (n_timesteps, layer_input_size, n_sequences) or None
        Entries are 0 with probability ``rate`` and ``1 / (1 - rate)`` otherwise. None when
        ``rate`` is 0 or there is one layer.
    """
    if not rate or len(config.hidden_sizes) < 2:
        return None
    keep = 1.0 - rate
    scale = np.asarray(1.0 / keep, dtype=dtype)
    return [
        (rng.random((T, config.layer_input_size(k), n)) < keep).astype(dtype) * scale
        for k in range(1, len(config.hidden_sizes))
    ]
