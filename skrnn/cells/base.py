"""The interface every recurrent cell implements, and the pieces cells share.

A cell is one layer's recurrence in one direction. The core (:mod:`skrnn._bptt`) owns the
loops over layers, directions and time, the masking of padded steps, truncation and
dropout; it never asks which cell it runs. A cell owns everything else:

- its parameters: shapes under PyTorch's names (:meth:`Cell.param_shapes`) and their
  initialisation (:meth:`Cell.init_params`);
- any internal re-layout of its weights for speed, done once per batch in
  :meth:`Cell.start_forward` and :meth:`Cell.start_backward`;
- its step buffers, kept in a :class:`Trace` (forward) and a :class:`BackwardState`;
- setting one step's input in a started trace (:meth:`Cell.feed`), for a caller that
  learns each input only after the previous step;
- one forward step (:meth:`Cell.step`; :meth:`Cell.run` for a stretch of them), one
  backward step (:meth:`Cell.backward_step`), the accumulation of the step's weight
  gradients (:meth:`Cell.accumulate`) and the step's input gradient
  (:meth:`Cell.input_grad`).

Every buffer is time-major and feature-major: step ``t`` of a buffer is an array of shape
``(features, n_sequences)``, so each gate is one contiguous block of rows.
"""

import numpy as np

from .._activations import DERIVATIVE, FORWARD, constant

__all__ = ["Cell", "Trace", "BackwardState", "Ring", "orthogonal_blocks", "uniform_params",
           "sigmoid_of_negated", "tanh_by_exp_pays", "TANH_BY_EXP_MIN_VALUES"]

#: Values per step (hidden x n_sequences) from which the gated cells' inference computes a
#: tanh through exp (:func:`tanh_by_exp_pays`).
TANH_BY_EXP_MIN_VALUES = 4096


def tanh_by_exp_pays(hidden, n_sequences):
    """Whether an inference step should compute ``tanh(a)`` as ``2 / (1 + exp(-2a)) - 1``.

    That takes three more passes than ``np.tanh`` but one ``exp``, which costs NumPy a
    third to a half of its ``tanh`` (float32 and float64, without AVX-512): a win once a
    step holds enough values to outweigh the extra calls. An ``exp`` that overflows gives
    -1 exactly, so the result is exact wherever ``tanh`` saturates.
    """
    return hidden * n_sequences >= TANH_BY_EXP_MIN_VALUES


class Trace:
    """Forward buffers of one layer and direction over one batch.

    The core reads two attributes; a cell adds whatever its steps need (prepared weights,
    gate buffers, scratch space).

    Attributes
    ----------
    H : ndarray of shape (n_timesteps + 1, hidden, n_sequences)
        ``H[0]`` is the initial state, ``H[t + 1]`` the state after step ``t``; the core
        copies ``H[t]`` into ``H[t + 1]`` for sequences that have ended.
    C : ndarray of shape (n_timesteps + 1, hidden, n_sequences) or None
        The cell state of cells that have one (LSTM), masked like ``H``.
    zero_start : bool
        True when the initial state is zero, so step 0 adds nothing to ``dW_hh``.
    """

    def __init__(self, H, C=None, zero_start=True):
        self.H = H
        self.C = C
        self.zero_start = zero_start


class BackwardState:
    """Backward buffers and gradient accumulators of one layer and direction.

    A plain namespace: a cell's :meth:`Cell.start_backward` fills it, its step methods use
    it, its :meth:`Cell.finish_backward` turns it into the parameter gradients.
    """


class Ring:
    """Two alternating step slots standing in for a ``(T + 1, ...)`` buffer at inference,
    where no step but the last two is read again."""

    __slots__ = ("slots",)

    def __init__(self, shape, dtype, first=None):
        self.slots = np.zeros((2,) + shape, dtype=dtype)
        if first is not None:
            self.slots[0] = first

    @classmethod
    def over(cls, slots):
        """A ring over an existing ``(2, ...)`` array (e.g. rows of a larger slot)."""
        ring = cls.__new__(cls)
        ring.slots = slots
        return ring

    def __getitem__(self, t):
        return self.slots[t & 1]


def orthogonal_blocks(rng, n_blocks, h):
    """``n_blocks`` random orthogonal ``(h, h)`` matrices stacked: ``(n_blocks * h, h)``."""
    blocks = []
    for _ in range(n_blocks):
        q, r = np.linalg.qr(rng.standard_normal((h, h)))
        blocks.append(q * np.sign(np.diag(r)))
    return np.vstack(blocks)


def uniform_params(shapes, hidden, rng):
    """PyTorch's default: every weight and bias drawn from ``U(-1/sqrt(hidden), 1/sqrt(hidden))``,
    in parameter order."""
    bound = 1.0 / np.sqrt(hidden)
    return {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}


def sigmoid_of_negated(z):
    """Turn ``-x`` into ``sigmoid(x)`` in place: ``1 / (1 + exp(-x))``.

    A cell that stores its sigmoid gates' pre-activations negated (its weight rows times
    -1, exact in floating point) gets the sigmoid from one exp, one add and one division.
    For a very negative ``x``, ``exp`` overflows to inf and the result is exactly 0; the core
    runs the forward loop with overflow warnings off for this reason.
    """
    one = constant(1, z.dtype)
    np.exp(z, out=z)
    z += one
    np.divide(one, z, out=z)


def gate_functions(recurrent_activation):
    """The gates' forward activation and whether it wants negated pre-activations.

    Returns
    -------
    forward : callable
        Works in place on a block of gate pre-activations.
    negated : bool
        True for the logistic sigmoid: the cell negates its sigmoid gates' weight rows and
        ``forward`` is :func:`sigmoid_of_negated`.
    """
    if recurrent_activation == "sigmoid":
        return sigmoid_of_negated, True
    return FORWARD[recurrent_activation], False


class Cell:
    """Base class of the recurrent cells: the interface, and defaults shared by most cells.

    A cell object describes one layer (any direction) of a :class:`~skrnn._bptt.RecurrentConfig`;
    it keeps no per-batch state, which lives in the :class:`Trace` and :class:`BackwardState`
    it creates. To add a cell, subclass this, set :attr:`n_gates` (and
    :attr:`has_cell_state`), and implement :meth:`start_forward`, :meth:`step`,
    :meth:`start_backward`, :meth:`backward_step`, :meth:`accumulate`,
    :meth:`input_grad` and :meth:`finish_backward`, and :meth:`feed` for running a stack
    one step at a time (the encoder-decoder's decoder); pass the class as
    ``RecurrentConfig(cell=...)``. ``docs/architecture.rst`` walks through an example.

    Parameters
    ----------
    config : RecurrentConfig
        The stack's architecture; a cell reads its options (``activation``,
        ``recurrent_activation``, ...) from it.
    layer : int
        Index of the layer in the stack.

    Attributes
    ----------
    hidden : int
        State units of the layer (per direction).
    input_size : int
        Features per step of the layer's input.
    """

    #: Number of stacked gate blocks in ``weight_ih`` and ``weight_hh``.
    n_gates = 1
    #: Whether the cell carries a second state ``c`` besides ``h`` (LSTM).
    has_cell_state = False

    def __init__(self, config, layer):
        self.hidden = config.hidden_sizes[layer]
        self.input_size = config.layer_input_size(layer)
        self.activation = config.activation
        self.recurrent_activation = config.recurrent_activation

    # ------------------------------------------------------------------ parameters
    def param_shapes(self):
        """``{name: shape}`` of one direction's parameters, PyTorch's names without the
        ``_l{k}`` suffix, in PyTorch's order."""
        G, h, d = self.n_gates, self.hidden, self.input_size
        return {"weight_ih": (G * h, d), "weight_hh": (G * h, h), "bias_ih": (G * h,),
                "bias_hh": (G * h,)}

    def init_params(self, rng, init="orthogonal"):
        """Draw one direction's parameters (float64).

        Parameters
        ----------
        rng : numpy.random.Generator
        init : {"orthogonal", "uniform"}, default="orthogonal"
            ``"orthogonal"``: Glorot-uniform input weights (per gate), orthogonal recurrent
            blocks, zero biases. ``"uniform"``: PyTorch's default, every weight and bias
            from ``U(-1/sqrt(hidden), 1/sqrt(hidden))``.

        Returns
        -------
        params : dict of str to ndarray
            Keys and shapes of :meth:`param_shapes`.
        """
        shapes = self.param_shapes()
        if init == "uniform":
            return uniform_params(shapes, self.hidden, rng)
        if init != "orthogonal":
            raise ValueError(f"init must be 'orthogonal' or 'uniform'; got {init!r}.")
        G, h = self.n_gates, self.hidden
        params = {}
        for name, shape in shapes.items():
            if name == "weight_ih":
                bound = np.sqrt(6.0 / (shape[1] + h))
                params[name] = rng.uniform(-bound, bound, size=shape)
            elif name == "weight_hh":
                params[name] = orthogonal_blocks(rng, G, h)
            else:
                params[name] = np.zeros(shape)
        return params

    # ------------------------------------------------------------------ forward
    def start_forward(self, p, X, h0, c0, keep):
        """Prepare a batch: re-layout the weights, allocate buffers, set the initial state.

        Parameters
        ----------
        p : dict of str to ndarray
            This direction's parameters (keys of :meth:`param_shapes`), of ``X``'s dtype.
        X : ndarray of shape (n_timesteps, input_size, n_sequences)
            The layer's input, feature-major.
        h0, c0 : ndarray of shape (hidden, n_sequences) or None
            Initial states (None: zero; ``c0`` only for cells with a cell state).
        keep : bool
            Keep every step's buffers for backward (False at inference).

        Returns
        -------
        trace : Trace
        """
        raise NotImplementedError

    def step(self, tr, t):
        """Step ``t``: read ``tr.H[t]`` (and ``tr.C[t]``), write ``tr.H[t + 1]``
        (and ``tr.C[t + 1]``)."""
        raise NotImplementedError

    def run(self, tr, start, stop):
        """Steps ``start`` to ``stop - 1`` in order, where no sequence ends in between
        (the core masks ended sequences only between calls).

        The default calls :meth:`step`; a cell may override it to bind what its steps
        read once per stretch of steps rather than once per step.
        """
        for t in range(start, stop):
            self.step(tr, t)

    # ------------------------------------------------------------------ backward
    def start_backward(self, p, tr):
        """Backward buffers and zeroed gradient accumulators for a trace kept by forward.

        Returns
        -------
        state : BackwardState
        """
        raise NotImplementedError

    def backward_step(self, tr, bs, t, dh, dc):
        """Back through step ``t``.

        Parameters
        ----------
        dh, dc : ndarray of shape (hidden, n_sequences)
            Gradient w.r.t. the state after step ``t`` (``dc``: the cell state, or None);
            zero in the columns of sequences that had ended. The cell may overwrite them.

        Returns
        -------
        dh_prev, dc_prev : ndarray of shape (hidden, n_sequences), and None for cells
            without a cell state. Gradient w.r.t. the state before step ``t``. The step's
            gate gradients stay in ``bs`` for :meth:`accumulate` and :meth:`input_grad`.
        """
        raise NotImplementedError

    def accumulate(self, tr, bs, t, x):
        """Add step ``t``'s contribution to the weight gradients; ``x`` is the layer's
        input at step ``t``, ``(input_size, n_sequences)``."""
        raise NotImplementedError

    def input_grad(self, bs, out):
        """Write the gradient w.r.t. step ``t``'s input, ``(input_size, n_sequences)``,
        into ``out`` (after :meth:`backward_step` for that step)."""
        np.matmul(bs.W_ih.T, bs.dz, out=out)

    def finish_backward(self, tr, bs):
        """The parameter gradients, keys and shapes of :meth:`param_shapes`."""
        raise NotImplementedError

    # ------------------------------------------------------------------ one step at a time
    def feed(self, tr, t, x):
        """Set step ``t``'s input in a trace that :meth:`start_forward` began with a
        placeholder input (any values, the right shape); call it before ``step(tr, t)``.

        Afterwards the trace holds for step ``t`` exactly what :meth:`start_forward`
        would have made of ``x`` (whatever it precomputes from the input: a projection,
        a copy into a stacked buffer), so ``step``, and with ``keep=True`` the backward
        methods, see no difference. This is how the core runs a stack one step at a time
        when a step's input is only known after the previous step
        (:class:`skrnn._bptt.StepRunner`, the encoder-decoder's autoregressive decoder).

        Parameters
        ----------
        tr : Trace
            From :meth:`start_forward`, whose ``X`` had ``n_timesteps > t``.
        t : int
            The step, ``0 <= t < n_timesteps``.
        x : ndarray of shape (input_size, n_sequences)
            The layer's input at step ``t``, feature-major, of the trace's dtype.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement feed(tr, t, x), which sets one "
            "step's input in a started trace; running a stack one step at a time "
            "(skrnn._bptt.StepRunner, e.g. Seq2SeqRegressor's decoder) needs it.")


class ElmanCell(Cell):
    """The shared part of cells whose step is ``h_t = phi(W_ih x_t + b + W_hh h_{t-1})``
    over the whole state or a leading block of it (``"rnn"``, ``"clockwork"``).

    The input projection of every step is one product written straight into the state
    buffer. When the layer's input is narrower than its state (``input_size < hidden``, as
    usual for the first layer), the cell copies the input once with a row of ones and
    multiplies it by ``[W_ih, b]``: the bias rides in that product, cheaper than a pass over
    the projection to add it, and backward gets the bias gradient from the ``dW_ih``
    product. Otherwise it adds the bias to the projection.
    """

    def recurrent_weights(self, p):
        """The ``W_hh`` the steps use (a cell with structural zeros masks it here)."""
        return p["weight_hh"]

    @property
    def fold_bias(self):
        """Whether the bias rides in the input projection (see the class docstring)."""
        return self.input_size < self.hidden

    def start_forward(self, p, X, h0, c0, keep):
        T, d, n = X.shape
        h = self.hidden
        H = np.empty((T + 1, h, n), dtype=X.dtype)
        H[0] = 0 if h0 is None else h0
        b = (p["bias_ih"] + p["bias_hh"])[:, None]
        tr = Trace(H, zero_start=h0 is None)
        tr.X1 = None
        # The state is written straight over the input projection of every step.
        if self.fold_bias:
            tr.X1 = np.empty((T, d + 1, n), dtype=X.dtype)
            tr.X1[:, :d] = X
            tr.X1[:, d] = 1
            tr.W_x = np.hstack([p["weight_ih"], b])  # kept for feed
            np.matmul(tr.W_x, tr.X1, out=H[1:])
        else:
            tr.W_x, tr.b = p["weight_ih"], b  # kept for feed
            np.matmul(p["weight_ih"], X, out=H[1:])
            H[1:] += b
        tr.W_hh = self.recurrent_weights(p)
        tr.scratch = np.empty((h, n), dtype=X.dtype)
        tr.phi = FORWARD[self.activation]
        return tr

    def feed(self, tr, t, x):
        z = tr.H[t + 1]  # step t's input projection, as start_forward writes it
        if tr.X1 is not None:
            xb = tr.X1[t]
            xb[: self.input_size] = x
            np.matmul(tr.W_x, xb, out=z)
        else:
            np.matmul(tr.W_x, x, out=z)
            z += tr.b

    def start_backward(self, p, tr):
        h, d = self.hidden, self.input_size
        n = tr.H.shape[2]
        dtype = tr.H.dtype
        bs = BackwardState()
        bs.W_ih = p["weight_ih"]
        bs.W_hh = tr.W_hh
        bs.dphi = DERIVATIVE[self.activation]
        bs.dz = np.empty((h, n), dtype=dtype)
        cols = d + 1 if tr.X1 is not None else d  # [dW_ih, db] when the bias is folded
        bs.dW_ih = np.zeros((h, cols), dtype=dtype)
        bs.dW_hh = np.zeros((h, h), dtype=dtype)
        bs.db = np.zeros(h, dtype=dtype)
        bs.tmp_ih = np.empty((h, cols), dtype=dtype)
        bs.tmp_hh = np.empty((h, h), dtype=dtype)
        return bs

    def accumulate(self, tr, bs, t, x):
        if tr.X1 is not None:
            np.matmul(bs.dz, tr.X1[t].T, out=bs.tmp_ih)
        else:
            np.matmul(bs.dz, x.T, out=bs.tmp_ih)
            bs.db += bs.dz.sum(axis=1)
        bs.dW_ih += bs.tmp_ih
        if t > 0 or not tr.zero_start:  # a zero H[0] adds nothing
            np.matmul(bs.dz, tr.H[t].T, out=bs.tmp_hh)
            bs.dW_hh += bs.tmp_hh

    def _accumulate_rows(self, tr, bs, t, x, a):
        """Weight gradients of step ``t`` over the leading ``a`` rows."""
        dz = bs.dz[:a]
        if tr.X1 is not None:
            np.matmul(dz, tr.X1[t].T, out=bs.tmp_ih[:a])
        else:
            np.matmul(dz, x.T, out=bs.tmp_ih[:a])
            bs.db[:a] += dz.sum(axis=1)
        bs.dW_ih[:a] += bs.tmp_ih[:a]
        if t > 0 or not tr.zero_start:  # a zero H[0] adds nothing
            np.matmul(dz, tr.H[t].T, out=bs.tmp_hh[:a])
            bs.dW_hh[:a] += bs.tmp_hh[:a]

    def finish_backward(self, tr, bs):
        d = self.input_size
        dW_ih, db = bs.dW_ih, bs.db
        if tr.X1 is not None:
            db = dW_ih[:, d].copy()
            dW_ih = np.ascontiguousarray(dW_ih[:, :d])
        return {"weight_ih": dW_ih, "weight_hh": bs.dW_hh, "bias_ih": db,
                "bias_hh": db.copy()}
