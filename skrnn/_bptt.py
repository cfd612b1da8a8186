"""The backpropagation-through-time core shared by every trained estimator.

It runs a stack of (optionally bidirectional) recurrent layers over a zero-padded,
time-major batch ``X`` of shape ``(n_timesteps, n_sequences, n_features)`` with per-sequence
``lengths`` and optional initial states, keeps what backward needs, and back-propagates
through time with masking, truncation and inverted dropout between layers. Parameters live
in a plain ``dict`` under PyTorch's names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0`` and the ``_reverse`` variants), so that a network maps one to one onto
``nn.RNN``/``nn.LSTM``/``nn.GRU``.

This module holds only the loops: over layers, directions and time. Everything about a
cell (its parameters, their initialisation and internal layout, its buffers and its steps)
lives in its own module of :mod:`skrnn.cells`, behind the interface of
:class:`skrnn.cells.Cell`; the loops never ask which cell they run.

Layouts: the caller's batch is time-major ``(T, n, F)``; inside the stack every array is
feature-major ``(T, F, n)``, so each step's gate block is contiguous and a layer's states are
the next layer's input as they are. :attr:`ForwardResult.top` is the top layer's output in
that layout; the heads of :mod:`skrnn._heads` read it directly.

:class:`StepRunner` runs a unidirectional stack one step at a time instead, for a caller
that learns each step's input from the step before (the encoder-decoder's decoder): the
per-batch work once, then one :meth:`Cell.feed <skrnn.cells.Cell.feed>` and one step per
layer and step.

Masking: a sequence that has ended keeps its state (``h_t = h_{t-1}`` at padded steps), so
the state after the last step is each sequence's state at its own last real step, and
padded steps receive no gradient. The backward direction of a bidirectional layer runs over
each sequence reversed within its own length, so it starts at that sequence's last real step
(from its initial state, as in PyTorch). Outputs at padded steps are zero.
"""

from dataclasses import dataclass

import numpy as np

from ._sequences import inactive_steps, zero_padding
from .cells import make_cell

__all__ = [
    "RecurrentConfig",
    "ForwardResult",
    "init_params",
    "forward",
    "StepRunner",
    "backward",
    "clip_grad_norm",
    "make_dropout_masks",
    "truncation_cuts",
]

_PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass(frozen=True)
class RecurrentConfig:
    """The architecture of a recurrent stack.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru", "clockwork"} or subclass of skrnn.cells.Cell
        The recurrent cell.
    input_size : int
        Features per time step of the input.
    hidden_sizes : tuple of int
        Width of each stacked layer (per direction).
    bidirectional : bool, default=False
        Whether each layer also runs backward in time; its output is then the forward and
        backward states concatenated, ``2 * hidden`` features.
    activation : {"tanh", "relu"}, default="tanh"
        State activation of the ``"rnn"`` and ``"clockwork"`` cells.
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

    def cell_of(self, layer):
        """The :class:`skrnn.cells.Cell` of layer ``layer``."""
        return make_cell(self, layer)

    @property
    def periods(self):
        """Clock periods (validated, sorted) of a clockwork stack; None for other cells."""
        periods = None
        for k in range(len(self.hidden_sizes)):
            periods = getattr(self.cell_of(k), "periods", None)
        return periods

    def recurrent_mask(self, layer):
        """Boolean (hidden, hidden) mask of allowed recurrent weights, or None (dense)."""
        return getattr(self.cell_of(layer), "structure", None)

    @property
    def n_directions(self):
        return 2 if self.bidirectional else 1

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
        shapes = {}
        for k in range(len(self.hidden_sizes)):
            cell_shapes = self.cell_of(k).param_shapes()
            for s in self.suffixes():
                for name, shape in cell_shapes.items():
                    shapes[f"{name}_l{k}{s}"] = shape
        return shapes


def _layer_params(params, layer, suffix, names):
    return {name: params[f"{name}_l{layer}{suffix}"] for name in names}


def init_params(config, rng, dtype=np.float64, init="orthogonal"):
    """Initialise parameters, each layer and direction by its cell.

    Parameters
    ----------
    config : RecurrentConfig
    rng : numpy.random.Generator
    dtype : dtype, default=float64
    init : {"orthogonal", "uniform"}, default="orthogonal"
        ``"orthogonal"``: Glorot-uniform input weights (per gate), orthogonal recurrent
        blocks, zero biases except the LSTM forget gate's input bias, which is 1 so that
        gradients flow through the cell state early in training (Jozefowicz et al., 2015).
        ``"uniform"``: PyTorch's default, every weight and bias of a layer drawn from
        ``U(-1/sqrt(hidden), 1/sqrt(hidden))``.

    Returns
    -------
    params : dict of str to ndarray
        In PyTorch's order and names, see :meth:`RecurrentConfig.param_shapes`.
    """
    if init not in ("orthogonal", "uniform"):
        raise ValueError(f"init must be 'orthogonal' or 'uniform'; got {init!r}.")
    params = {}
    for k in range(len(config.hidden_sizes)):
        cell = config.cell_of(k)
        for s in config.suffixes():
            for name, w in cell.init_params(rng, init).items():
                params[f"{name}_l{k}{s}"] = np.ascontiguousarray(w, dtype=dtype)
    return params


@dataclass
class _LayerCache:
    cell: object  # the layer's Cell
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
        Final hidden state of every layer and direction, in PyTorch's ``h_n`` order
        (layer by layer, the forward direction first).
    c_n : list of ndarray of shape (n_sequences, hidden) or None
        Final cell states of cells that have one (LSTM), same order.
    top : ndarray of shape (n_timesteps, output_size, n_sequences)
        The top layer's states at every step, feature-major (the core's layout), both
        directions stacked; padded steps hold carried states, not outputs.
    inactive : list of (ndarray of bool of shape (n_sequences,) or None)
        Per step, the sequences already past their end (None when all are real).
    cache : object or None
        What :func:`backward` needs; None when ``keep_cache=False``.
    """

    final_states: np.ndarray
    h_n: list
    c_n: list
    top: np.ndarray
    inactive: list
    cache: object = None

    @property
    def outputs(self):
        """ndarray of shape (n_timesteps, n_sequences, output_size): the top layer's
        states at every step in the caller's layout, zero at padding (a copy)."""
        out = np.ascontiguousarray(self.top.transpose(0, 2, 1))
        zero_padding(out, self.inactive)
        return out


@dataclass
class _Cache:
    layers: list
    lengths: np.ndarray
    reverse_index: np.ndarray  # (T, n) or None
    inactive: list  # per step: bool (n,) or None
    has_h0: bool
    has_c0: bool



def _reverse_index(lengths, T):
    """Index ``r[t, b]`` that reverses each sequence within its length (self-inverse)."""
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _reverse(a, index):
    """Reverse a feature-major array ``(T, F, n)`` in time within each sequence's length."""
    if index is None:
        return a[::-1]
    return np.take_along_axis(a, index[:, None, :], axis=0)



def _initial_states(config, states, n, dtype, what):
    """Validate initial states; return one ``(hidden, n)`` array (or None) per layer and
    direction, in ``h_n`` order."""
    L, D = len(config.hidden_sizes), config.n_directions
    if states is None:
        return [None] * (L * D)
    states = list(states)
    if len(states) != L * D:
        raise ValueError(f"{what} must hold one state per layer and direction "
                         f"({L} layers x {D} directions = {L * D}); got {len(states)}.")
    out = []
    for i, s in enumerate(states):
        h = config.hidden_sizes[i // D]
        s = np.asarray(s, dtype=dtype)
        if s.shape != (n, h):
            raise ValueError(f"{what}[{i}] must have shape (n_sequences, hidden) = "
                             f"{(n, h)}; got {s.shape}.")
        out.append(s.T)
    return out


def _run_direction(cell, p, Xf, inactive, h0, c0, keep):
    """Run one layer in one direction over feature-major ``Xf`` (T, d, n); return its trace.

    ``trace.H[1:]`` (T, h, n) is the layer's output (states carried over padding).
    """
    tr = cell.start_forward(p, Xf, h0, c0, keep)
    step, H, C = cell.step, tr.H, tr.C
    T = Xf.shape[0]
    unmasked = 0  # the leading steps where every sequence is still running
    while unmasked < T and inactive[unmasked] is None:
        unmasked += 1
    # A sigmoid computed as 1 / (1 + exp(-x)) overflows exp to inf for a very negative x
    # and is then exactly 0: not an error.
    with np.errstate(over="ignore"):
        cell.run(tr, 0, unmasked)
        for t in range(unmasked, T):
            step(tr, t)
            inact = inactive[t]
            if inact is not None:  # ended sequences keep their state
                np.copyto(H[t + 1], H[t], where=inact)
                if C is not None:
                    np.copyto(C[t + 1], C[t], where=inact)
    return tr


def forward(config, params, X, lengths, *, h0=None, c0=None, dropout_masks=None,
            keep_cache=True):
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
    h0 : sequence of array-like of shape (n_sequences, hidden) or None, default=None
        Initial hidden state of every layer and direction, in :attr:`ForwardResult.h_n`
        order (as PyTorch's ``h_0``; an array of shape ``(n_layers * n_directions,
        n_sequences, hidden)`` works when the layers have equal widths). None: zeros.
    c0 : same as ``h0`` or None, default=None
        Initial cell state of cells that have one (LSTM). None: zeros.
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
    inactive = inactive_steps(lengths, T)
    equal = inactive[-1] is None
    rev_index = None if equal else _reverse_index(lengths, T)
    h0s = _initial_states(config, h0, n, X.dtype, "h0")
    cells = [config.cell_of(k) for k in range(len(config.hidden_sizes))]
    if c0 is not None and not cells[0].has_cell_state:
        raise ValueError("c0 is only for cells with a cell state (LSTM).")
    c0s = _initial_states(config, c0, n, X.dtype, "c0")
    layers, h_n, c_n = [], [], []
    layer_in = np.ascontiguousarray(X.transpose(0, 2, 1))  # the one copy into (T, F, n)
    i = 0
    for k, cell in enumerate(cells):
        mask = None
        if k > 0 and dropout_masks is not None and dropout_masks[k - 1] is not None:
            mask = dropout_masks[k - 1]
            layer_in = layer_in * mask
        traces, outs = [], []
        for s in config.suffixes():
            p = _layer_params(params, k, s, cell.param_shapes())
            xin = layer_in if s == "" else _reverse(layer_in, rev_index)
            trace = _run_direction(cell, p, xin, inactive, h0s[i], c0s[i], keep_cache)
            i += 1
            out = trace.H[1:]
            if s == "_reverse":
                out = _reverse(out, rev_index)
            traces.append(trace)
            outs.append(out)
            h_n.append(np.ascontiguousarray(trace.H[T].T))
            if trace.C is not None:
                c_n.append(np.array(trace.C[T].T))
        if keep_cache:
            layers.append(_LayerCache(cell, traces, layer_in, mask))
        layer_in = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)
    D = config.n_directions
    final = h_n[-1] if D == 1 else np.concatenate(h_n[-D:], axis=1)
    cache = (_Cache(layers, lengths, rev_index, inactive, h0 is not None, c0 is not None)
             if keep_cache else None)
    return ForwardResult(final, h_n, c_n if c_n else None, layer_in, inactive, cache)


class StepRunner:
    """Run a unidirectional stack one step at a time, each step's input given when known.

    :func:`forward` takes the whole input up front; an autoregressive decoder knows step
    ``t``'s input only after step ``t - 1``. The runner does the per-batch work once: the
    validation of the initial states and, for every layer, :meth:`Cell.start_forward
    <skrnn.cells.Cell.start_forward>` for ``n_steps`` steps over a placeholder input
    (weight re-layout, buffers, initial state). Each :meth:`step` then sets the step's
    input in every layer (:meth:`Cell.feed <skrnn.cells.Cell.feed>`) and runs that layer's
    step. The states are those :func:`forward` computes from the same inputs with
    ``keep_cache=False``, to floating-point rounding.

    Every sequence runs every step: there are no lengths, so no masking of ended sequences
    (the decoder's sequences all have its horizon). A bidirectional stack cannot run
    backward in time one step at a time, so it is refused.

    Parameters
    ----------
    config : RecurrentConfig
        A unidirectional stack (ValueError otherwise).
    params : dict of str to ndarray
        See :meth:`RecurrentConfig.param_shapes`.
    n_steps : int
        The most steps the runner will take (at least 1); buffers are this long.
    n_sequences : int
    h0, c0 : sequence of array-like of shape (n_sequences, hidden) or None, default=None
        Initial states of every layer, as in :func:`forward` (``c0`` only for cells with
        a cell state). None: zeros.
    dtype : dtype or None, default=None
        Of the states and the inputs; None: that of ``params["weight_ih_l0"]``.

    Attributes
    ----------
    t : int
        Steps taken so far.
    cells : list of Cell
        One per layer.
    traces : list of Trace
        One per layer, ``n_steps`` long; ``traces[k].H[t + 1]`` (hidden, n_sequences) is
        layer ``k``'s state after step ``t``.
    """

    def __init__(self, config, params, n_steps, n_sequences, *, h0=None, c0=None,
                 dtype=None):
        if config.bidirectional:
            raise ValueError("StepRunner runs a stack forward in time one step at a time; "
                             "a bidirectional stack also runs backward in time and needs "
                             "its whole input: use forward.")
        n_steps, n = int(n_steps), int(n_sequences)
        if n_steps < 1:
            raise ValueError(f"n_steps must be at least 1; got {n_steps}.")
        dtype = np.dtype(params["weight_ih_l0"].dtype if dtype is None else dtype)
        self.cells = [config.cell_of(k) for k in range(len(config.hidden_sizes))]
        if c0 is not None and not self.cells[0].has_cell_state:
            raise ValueError("c0 is only for cells with a cell state (LSTM).")
        h0s = _initial_states(config, h0, n, dtype, "h0")
        c0s = _initial_states(config, c0, n, dtype, "c0")
        self.traces = []
        for k, cell in enumerate(self.cells):
            p = _layer_params(params, k, "", cell.param_shapes())
            placeholder = np.zeros((n_steps, cell.input_size, n), dtype=dtype)
            self.traces.append(cell.start_forward(p, placeholder, h0s[k], c0s[k], False))
        self.n_steps, self.n_sequences, self.dtype = n_steps, n, dtype
        self.input_size = config.input_size
        self.t = 0

    def step(self, x, dropout_masks=None):
        """Advance every layer one step.

        Parameters
        ----------
        x : array-like of shape (n_sequences, input_size)
            The stack's input at this step.
        dropout_masks : list of (ndarray of shape (layer_input_size, n_sequences) or None)
            or None, default=None
            One per layer above the first, multiplied into its input: this step's slice
            ``[t]`` of :func:`forward`'s ``dropout_masks``.

        Returns
        -------
        top : ndarray of shape (output_size, n_sequences)
            The top layer's state after the step, feature-major (one step of
            :attr:`ForwardResult.top`). A view of the runner's buffers that later steps
            do not overwrite.
        """
        t = self.t
        if t >= self.n_steps:
            raise ValueError(f"This StepRunner was started for {self.n_steps} steps; "
                             "all are taken.")
        x = np.asarray(x, dtype=self.dtype)
        if x.shape != (self.n_sequences, self.input_size):
            raise ValueError(f"x must have shape (n_sequences, input_size) = "
                             f"{(self.n_sequences, self.input_size)}; got {x.shape}.")
        layer_in = np.ascontiguousarray(x.T)
        # As in _run_direction: a sigmoid's exp may overflow to inf, which is not an error.
        with np.errstate(over="ignore"):
            for k, (cell, tr) in enumerate(zip(self.cells, self.traces)):
                if k > 0 and dropout_masks is not None and dropout_masks[k - 1] is not None:
                    layer_in = layer_in * dropout_masks[k - 1]
                cell.feed(tr, t, layer_in)
                cell.step(tr, t)
                layer_in = tr.H[t + 1]
        self.t = t + 1
        return layer_in

    @property
    def h_n(self):
        """list of ndarray of shape (n_sequences, hidden): every layer's state after the
        steps taken (the initial state before any), as :attr:`ForwardResult.h_n`."""
        return [np.ascontiguousarray(tr.H[self.t].T) for tr in self.traces]

    @property
    def c_n(self):
        """list of ndarray of shape (n_sequences, hidden) or None: the cell states, as
        :attr:`ForwardResult.c_n` (None for cells without one)."""
        if not self.cells[0].has_cell_state:
            return None
        return [np.array(tr.C[self.t].T) for tr in self.traces]

    @property
    def final_states(self):
        """ndarray of shape (n_sequences, output_size): the top layer's state, as
        :attr:`ForwardResult.final_states`."""
        return np.ascontiguousarray(self.traces[-1].H[self.t].T)


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


def _backward_direction(cell, p, trace, Xf, inactive, d_out, dh_final, cuts, need_dx,
                        dc_final=None):
    """Backward through one layer and direction.

    ``Xf`` (T, d, n): the direction's input, feature-major, in its own time order;
    ``inactive``: per step, the sequences past their end (or None);
    ``d_out`` (T, h, n) or None: gradient w.r.t. its outputs (zero at padding);
    ``dh_final``, ``dc_final`` (n, h) or None: w.r.t. the states after the last step.

    Returns
    -------
    grads : dict
        Keys of ``cell.param_shapes()``.
    dX : ndarray of shape (T, d, n) or None
        Only if ``need_dx``.
    dh0, dc0 : ndarray of shape (hidden, n) or None
        Gradients w.r.t. the initial states.
    """
    T, _, n = Xf.shape
    h = cell.hidden
    dtype = Xf.dtype
    bs = cell.start_backward(p, trace)
    dh = np.zeros((h, n), dtype=dtype) if dh_final is None else np.array(dh_final.T, dtype)
    dc = None
    if cell.has_cell_state:
        dc = (np.zeros((h, n), dtype=dtype) if dc_final is None
              else np.array(dc_final.T, dtype))
    dX = np.empty_like(Xf) if need_dx else None
    step, accumulate, input_grad = cell.backward_step, cell.accumulate, cell.input_grad
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
        dh_prev, dc_prev = step(trace, bs, t, dh, dc)
        accumulate(trace, bs, t, Xf[t])
        if need_dx:
            input_grad(bs, dX[t])
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
    return cell.finish_backward(trace, bs), dX, dh, dc


def backward(config, params, cache, d_outputs=None, d_final=None, bptt_truncate=None,
             need_input_grad=False, need_state_grad=False, *, d_top=None, d_h_n=None,
             d_c_n=None):
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
    need_state_grad : bool, default=False
        Also return the gradients w.r.t. the initial states ``h0`` (and ``c0``).
    d_top : ndarray of shape (n_timesteps, output_size, n_sequences) or None
        Gradient w.r.t. ``ForwardResult.top``, in the core's layout, instead of
        ``d_outputs`` (the per-step head's way). Values at padding are ignored; they are
        zeroed in place.
    d_h_n, d_c_n : list of ndarray of shape (n_sequences, hidden) or None
        Gradients w.r.t. ``ForwardResult.h_n`` and ``c_n`` (entries may be None), for a
        caller that reads the final states of every layer (an encoder feeding a decoder).

    Returns
    -------
    grads : dict of str to ndarray
        Same keys and shapes as ``params``.
    dX : ndarray of shape (n_timesteps, n_sequences, input_size)
        Only if ``need_input_grad``.
    d_h0 : list of ndarray of shape (n_sequences, hidden)
        Only if ``need_state_grad``: per layer and direction, in ``h_n`` order.
    d_c0 : list of ndarray of shape (n_sequences, hidden) or None
        Only if ``need_state_grad``: the same for the cell state (None for cells without).
    """
    T = cache.layers[0].X.shape[0]
    lengths = cache.lengths
    rev = cache.reverse_index
    inactive = cache.inactive
    cuts = None if bptt_truncate is None else truncation_cuts(lengths, T, bptt_truncate)
    D = config.n_directions
    n_layers = len(config.hidden_sizes)
    grads = {}
    d_layer_out = None  # feature-major (T, F, n), zero at padding
    if d_outputs is not None:
        d_top = np.ascontiguousarray(np.transpose(d_outputs, (0, 2, 1)))
    if d_top is not None:
        for t, inact in enumerate(inactive):
            if inact is not None:
                d_top[t][:, inact] = 0
        d_layer_out = d_top
    d_h0 = [None] * (n_layers * D)
    d_c0 = [None] * (n_layers * D)
    dX = None
    for k in range(n_layers - 1, -1, -1):
        lc = cache.layers[k]
        cell = lc.cell
        h = config.hidden_sizes[k]
        need_dx = k > 0 or need_input_grad
        dX = None
        for j, s in enumerate(config.suffixes()):
            i = k * D + j
            d_out = None
            if d_layer_out is not None:
                d_out = d_layer_out[:, j * h: (j + 1) * h]
                d_out = _reverse(d_out, rev) if s == "_reverse" else d_out
            dh_final = None
            if k == n_layers - 1 and d_final is not None:
                dh_final = d_final[:, j * h: (j + 1) * h]
            if d_h_n is not None and d_h_n[i] is not None:
                dh_final = d_h_n[i] if dh_final is None else dh_final + d_h_n[i]
            p = _layer_params(params, k, s, cell.param_shapes())
            xin = lc.X if s == "" else _reverse(lc.X, rev)
            g, dxin, dh0, dc0 = _backward_direction(cell, p, lc.traces[j], xin, inactive,
                                                    d_out, dh_final, cuts, need_dx,
                                                    dc_final=_get(d_c_n, i))
            for name, v in g.items():
                grads[f"{name}_l{k}{s}"] = v
            d_h0[i] = np.ascontiguousarray(dh0.T)
            d_c0[i] = None if dc0 is None else np.ascontiguousarray(dc0.T)
            if need_dx:
                if s == "_reverse":
                    dxin = _reverse(dxin, rev)
                dX = dxin if dX is None else dX + dxin
        if need_dx:
            if lc.dropout_mask is not None:
                dX *= lc.dropout_mask
            if k > 0:
                # Padded steps of a layer's output are carried states, not outputs.
                for t, inact in enumerate(inactive):
                    if inact is not None:
                        dX[t][:, inact] = 0
        d_layer_out = dX
    grads = {name: grads[name] for name in config.param_shapes()}
    out = (grads,)
    if need_input_grad:
        out += (np.ascontiguousarray(dX.transpose(0, 2, 1)),)
    if need_state_grad:
        out += (d_h0, d_c0 if any(c is not None for c in d_c0) else None)
    return out[0] if len(out) == 1 else out


def _get(seq, i):
    return None if seq is None else seq[i]

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
