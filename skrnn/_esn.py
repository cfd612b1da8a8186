"""EchoStateRegressor: a fixed reservoir and a ridge readout, per-step regression."""

import time
import warnings
from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._esn_base import RESERVOIR_PARAMETERS, EchoStateBase, kept_steps
from ._readout import RidgeStatistics
from ._reservoir_chunks import ChunkedInput, StepOutputs, time_blocks
from ._sequences import check_lengths_argument, check_sequences

__all__ = ["EchoStateRegressor"]

# A free run whose outputs leave the training targets' range by this many standard
# deviations has diverged, and says so.
_DIVERGENCE_STDS = 100.0


class EchoStateRegressor(RegressorMixin, EchoStateBase):
    r"""Echo state network: a fixed random reservoir and a trained linear (ridge) readout.

    Each time step updates the reservoir state (a leaky-integrator network whose recurrent
    matrix is random, optionally sparse, and scaled to a chosen spectral radius):

    .. math::
        x_t = (1 - a) x_{t-1} + a f(\rho W x_{t-1} + W_{in} u_t + W_{back} y_{t-1} + b)

    and the output is a linear readout ``y_t = W_out [1, u_t, x_t]``, written here as
    ``coef_ @ [u_t, x_t] + intercept_``, fitted by ridge regression over all real time
    steps after the washout. Only the readout is trained, in one linear solve.

    Parameters
    ----------
    n_reservoir : int, default=100
        Reservoir units.
    spectral_radius : float, default=0.9
        Spectral radius :math:`\rho` of the recurrent matrix. The reservoir is normalised
        to radius 1 once per fit and scaled at run time, so changing ``spectral_radius``
        after a fit (``set_params``, then ``predict`` or ``partial_fit``) or between the
        fits of a grid search never recomputes eigenvalues.
    leak_rate : float in (0, 1], default=1.0
        Leak :math:`a` of the leaky integrator (1: no leak). Also used at run time only.
    input_scaling : float, default=1.0
        Input weights are uniform in ``[-input_scaling, input_scaling]``.
    bias_scaling : float, default=0.1
        Reservoir biases are uniform in ``[-bias_scaling, bias_scaling]``.
    density : float in (0, 1], default=0.1
        Fraction of non-zero recurrent connections: every unit receives
        ``max(1, round(density * n_reservoir))`` of them. Below 1 the reservoir is a CSR
        sparse matrix, at 1 a dense array.
    input_density : float in (0, 1], default=1.0
        Fraction of non-zero input (and feedback) weights, at least one per unit.
    activation : {"tanh", "relu", "identity"}, default="tanh"
        Reservoir activation :math:`f`.
    reservoir : {"random", "cycle", "delay_line"}, array-like or callable, default="random"
        Topology of the recurrent matrix: random and sparse (``density``), the simple cycle
        reservoir of Rodan and Tino (2011) (one ring, all weights equal), the delay line
        (the ring without its closing edge; nilpotent, so ``spectral_radius`` is its
        weight), your own dense or sparse matrix of shape (n_reservoir, n_reservoir), or a
        callable ``reservoir(n_reservoir, rng)`` that returns one. A matrix with a non-zero
        eigenvalue is normalised to spectral radius 1.
    washout : int, default=0
        Time steps dropped from the readout fit (and from :meth:`score`) at the start of
        every sequence, while the state forgets its zero initial condition. A sequence of
        length ``L`` drops ``min(washout, L - 1)`` steps, so every sequence keeps at least
        its last step; in particular the length-1 sequences of 2-D input are never dropped,
        and 2-D input gives a random-features ridge regression.
    alpha : float, default=1e-6
        Ridge penalty of the readout (not applied to the intercept).
    include_input : bool, default=True
        Whether the readout sees the input ``u_t`` besides the state ``x_t``.
    feedback : bool, default=False
        Feed the previous output :math:`y_{t-1}` (zero at the first step) into the reservoir
        through ``W_back``: the true previous target in ``fit`` (teacher forcing), the
        model's own previous prediction in ``predict``, ``transform`` and ``score``.
    feedback_scaling : float, default=1.0
        Feedback weights are uniform in ``[-feedback_scaling, feedback_scaling]``.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the reservoir's pre-activation during
        ``fit`` and ``partial_fit`` (a regulariser, which makes free runs with feedback or
        :meth:`generate` more stable); never at prediction. Each fit draws fresh noise for
        every step, so with ``noise > 0`` a sequence weight of 2 is no longer exactly the
        same as passing the sequence twice.
    random_state : int, RandomState instance or None, default=None
        Controls the reservoir, the input, bias and feedback weights, the eigen-solver's
        start vector and the noise, through independent streams
        (``numpy.random.SeedSequence.spawn``). Pass an int for reproducible results.
    verbose : int, default=0
        Print progress (one line per chunk of sequences) when positive.

    Attributes
    ----------
    W_ : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Recurrent matrix normalised to spectral radius 1 (used as ``spectral_radius * W_``).
    spectral_radius_unit_ : float
        Spectral radius of the recurrent matrix as drawn, before normalisation; ``W_`` is
        the drawn matrix divided by it.
    W_in_ : ndarray of shape (n_reservoir, n_features)
        Input weights.
    W_back_ : ndarray of shape (n_reservoir, n_outputs) or None
        Feedback weights (``feedback=True`` only).
    bias_ : ndarray of shape (n_reservoir,)
        Reservoir biases.
    coef_ : ndarray of shape (n_outputs, n_features + n_reservoir) or (n_outputs, n_reservoir)
        Readout weights on ``[u_t, x_t]`` (on ``x_t`` alone without ``include_input``).
    intercept_ : ndarray of shape (n_outputs,)
        Readout intercept.
    n_outputs_ : int
        Outputs per time step.
    n_steps_seen_ : float
        Total sample weight of the time steps the readout was fitted on (the number of
        steps after washout when there are no sample weights).
    last_state_ : ndarray of shape (n_sequences, n_reservoir)
        Reservoir state after the last step of each sequence of the latest ``fit`` or
        ``partial_fit``: the start of ``partial_fit(..., continue_state=True)`` and of
        ``predict(..., initial_state="last")``.
    n_features_in_ : int
        Features per time step.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    LSTMRegressor : A trained recurrent network, one value per sequence.

    Notes
    -----
    Targets are per step: for 3-D ``X`` ``(n_sequences, n_timesteps, n_features)``, ``y`` is
    ``(n_sequences, n_timesteps[, n_outputs])``; for a list of sequences, a list of
    ``(n_timesteps_i[, n_outputs])`` arrays; for 2-D ``X`` (length-1 sequences),
    ``(n_samples[, n_outputs])``. ``predict`` returns the same structure. A batch of
    univariate series must be passed as ``X[:, :, None]``: a 2-D array is always read as
    length-1 sequences.

    The readout is solved from sufficient statistics
    (:class:`~skrnn._readout.RidgeStatistics`): with per-step weights :math:`w` (the weight
    of the step's sequence) and features :math:`f = [u, x]`, the total weight, the weighted
    means :math:`\bar f`, :math:`\bar y` and the weighted centred sums
    :math:`C_{ff} = \sum w (f - \bar f)(f - \bar f)^T` and
    :math:`C_{fy} = \sum w (f - \bar f)(y - \bar y)^T`, merged chunk by chunk. The ridge
    penalty acts on the centred problem only,
    :math:`W_{out}^T = (C_{ff} + \alpha I)^{-1} C_{fy}`, and the intercept is
    :math:`\bar y - W_{out} \bar f`, as in :class:`~sklearn.linear_model.Ridge` (to 1e-8
    relative at input offsets up to 1e6). Fitting several sequences at once,
    ``partial_fit`` on chunks and a single ``fit`` therefore give the same readout to
    rounding, and a sample weight of ``k`` equals repeating a sequence ``k`` times.

    Memory stays bounded for any mix of lengths: sequences are run in length-sorted
    chunks and time blocks (see the echo state network page of the user guide). float32
    input runs the reservoir in float32 and gives float32 predictions; the readout is
    always solved in float64. Changing ``n_reservoir``, ``include_input`` or ``feedback``
    after a fit makes the next prediction raise a ValueError that asks for a refit.

    Closed-loop forecasting: train a one-step-ahead model (``y[t] = X[t + 1]``), then
    :meth:`generate` warms the reservoir up on an observed series and feeds each prediction
    back as the next input.

    References
    ----------
    H. Jaeger, "The echo state approach to analysing and training recurrent neural
    networks", GMD Report 148, 2001. M. Lukoševičius, "A practical guide to applying echo
    state networks", in Neural Networks: Tricks of the Trade, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import EchoStateRegressor
    >>> t = np.arange(600) * 0.1
    >>> X, y = np.sin(t)[None, :-1, None], np.sin(t)[None, 1:]  # next value of a sine
    >>> esn = EchoStateRegressor(n_reservoir=50, washout=50, random_state=0).fit(X, y)
    >>> esn.score(X, y) > 0.999
    True
    >>> esn.generate(X, n_steps=10).shape  # continue the sine on its own outputs
    (1, 10, 1)
    """

    _structural_params = ("n_reservoir", "include_input", "feedback")

    _parameter_constraints: dict = {
        **RESERVOIR_PARAMETERS,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "feedback": ["boolean"],
        "feedback_scaling": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_reservoir=100,
        spectral_radius=0.9,
        leak_rate=1.0,
        input_scaling=1.0,
        bias_scaling=0.1,
        density=0.1,
        input_density=1.0,
        activation="tanh",
        reservoir="random",
        washout=0,
        alpha=1e-6,
        include_input=True,
        feedback=False,
        feedback_scaling=1.0,
        noise=0.0,
        random_state=None,
        verbose=0,
    ):
        self.n_reservoir = n_reservoir
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.input_scaling = input_scaling
        self.bias_scaling = bias_scaling
        self.density = density
        self.input_density = input_density
        self.activation = activation
        self.reservoir = reservoir
        self.washout = washout
        self.alpha = alpha
        self.include_input = include_input
        self.feedback = feedback
        self.feedback_scaling = feedback_scaling
        self.noise = noise
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ readout
    def _readout(self, U, states):
        """``coef_ @ [u, x] + intercept_`` without building the concatenated features."""
        d = U.shape[-1] if self.include_input else 0
        coef = self.coef_.astype(states.dtype, copy=False)
        Z = states @ coef[:, d:].T
        if d:
            Z += U @ coef[:, :d].T
        Z += self.intercept_.astype(states.dtype, copy=False)
        return Z

    def _readout_feature_major(self, U, H):
        """:meth:`_readout` from states in the run's layout ``(T, R, n)``: no copy of them."""
        d = U.shape[-1] if self.include_input else 0
        coef = self.coef_.astype(H.dtype, copy=False)
        Z = np.matmul(coef[:, d:], H).transpose(0, 2, 1)  # (T, n, k)
        if d:
            Z += U @ coef[:, :d].T
        Z += self.intercept_.astype(H.dtype, copy=False)
        return Z

    def _features(self, U, states, keep):
        """Readout rows ``[u, x]`` at the kept steps: a fresh array the statistics may own."""
        S = states.reshape(-1, states.shape[2]) if keep is None else states[keep]
        if not self.include_input:  # a view of this block's states, which nothing reuses
            return S
        Ur = U.reshape(-1, U.shape[2]) if keep is None else U[keep]
        return np.concatenate([Ur.astype(S.dtype, copy=False), S], axis=1)

    # ------------------------------------------------------------------ fitting
    def _accumulate(self, X, y, sample_weight, *, first, continue_state=False):
        if y is None:
            raise ValueError("This estimator requires y to be passed, but the target y is "
                             "None.")
        started = time.perf_counter()
        data = ChunkedInput(X, estimator=self, reset=first, n_units=self.n_reservoir, y=y)
        n, k = data.n_sequences, data.n_outputs
        if first:
            self._y_ndim = data.y_ndim
        elif k != self.n_outputs_ or data.y_ndim != self._y_ndim:
            raise ValueError(
                f"y has {k} output(s) per step in a {data.y_ndim}-D layout, but the model "
                f"was fitted with {self.n_outputs_} in a {self._y_ndim}-D layout; "
                "partial_fit needs targets of the same shape.")
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, np.empty((n, 1)), dtype=np.float64,
                                      ensure_non_negative=True)
        if first:
            self._build_reservoir(data.n_features, k if self.feedback else 0)
            self.n_outputs_ = k
            self._stats = None
        if continue_state and self.last_state_.shape[0] != n:
            raise ValueError(
                f"continue_state=True continues {self.last_state_.shape[0]} sequence(s), "
                f"but X has {n}.")
        reservoir = self._runner(data.dtype)
        d = data.n_features if self.include_input else 0
        stats = RidgeStatistics(d + self.n_reservoir, k)
        last_state = np.zeros((n, self.n_reservoir))
        last_target = np.zeros((n, k))
        washout = 0 if continue_state else self.washout
        for c, chunk in enumerate(data):
            idx, lengths, U_all, Y = chunk.index, chunk.batch.lengths, chunk.batch.X, chunk.Y
            nc = len(idx)
            h = self.last_state_[idx] if continue_state else None
            y_prev = (self._last_target[idx] if continue_state
                      else np.zeros((nc, k)))
            for t0, t1 in time_blocks(U_all.shape[0], nc, self.n_reservoir):
                U = U_all[t0:t1]
                drive = U
                if self.feedback:  # teacher forcing: the true previous target
                    Y_prev = np.empty((t1 - t0, nc, k))
                    Y_prev[0] = Y[t0 - 1] if t0 else y_prev
                    Y_prev[1:] = Y[t0:t1 - 1]
                    drive = np.concatenate([U, Y_prev.astype(U.dtype)], axis=2)
                noise = None
                if self.noise > 0:
                    noise = self._noise_rng.standard_normal((t1 - t0, nc, self.n_reservoir))
                    noise *= self.noise
                states, h = reservoir.run(drive, np.clip(lengths - t0, 0, t1 - t0), h0=h,
                                          noise=noise)
                keep = kept_steps(lengths, washout, t0, t1)
                all_kept = keep.all()
                rows = None if all_kept else keep
                w = None
                if sw is not None:
                    w = np.broadcast_to(sw[idx], keep.shape)
                    w = w.reshape(-1) if all_kept else w[keep]
                Yk = Y[t0:t1].reshape(-1, k) if all_kept else Y[t0:t1][keep]
                stats.update(self._features(U, states, rows), Yk, w)
            last_state[idx] = h
            last_target[idx] = Y[lengths - 1, np.arange(nc)]
            self._chunk_progress(c, len(data._chunks), chunk, started)
        if self._stats is None:
            self._stats = stats
        else:
            self._stats.merge(stats)
        self.last_state_ = last_state
        self._last_target = last_target
        self.coef_, self.intercept_ = self._stats.solve(self.alpha)
        self.n_steps_seen_ = float(self._stats.weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Build the reservoir, run it over ``X`` and solve the readout.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Input sequences.
        y : array-like of shape (n_sequences, n_timesteps[, n_outputs]), list of arrays of \
                shape (n_timesteps_i[, n_outputs]), or array-like of shape \
                (n_samples[, n_outputs])
            Per-step targets, in the structure of ``X``.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence (every step of a sequence carries it).

        Returns
        -------
        self : EchoStateRegressor
            The fitted estimator.
        """
        return self._accumulate(X, y, sample_weight, first=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, continue_state=False):
        """Add ``X`` to the readout's statistics and re-solve it.

        The first call (on an unfitted model) builds the reservoir; later calls keep it.
        Calling ``partial_fit`` on chunks gives the same readout, to rounding, as one
        ``fit`` on all of them:

        * ``continue_state=False`` (default): the chunk's sequences are new sequences; each
          starts from the zero state and drops its own washout, as in ``fit`` on the list
          of all sequences.
        * ``continue_state=True``: the chunk continues the sequences of the previous call
          (same number of sequences, in the same order), e.g. consecutive chunks of one
          long series. The reservoir state (``last_state_``) and, with ``feedback``, the
          last target carry over, and no washout is applied: splitting a series into
          chunks this way equals ``fit`` on the whole series.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            Per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence.
        continue_state : bool, default=False
            Continue the sequences of the previous call instead of starting new ones.

        Returns
        -------
        self : EchoStateRegressor
            The updated estimator.
        """
        first = not hasattr(self, "coef_")
        if first and continue_state:
            raise ValueError("continue_state=True needs a previous fit or partial_fit.")
        return self._accumulate(X, y, sample_weight, first=first,
                                continue_state=continue_state)

    # ------------------------------------------------------------------ prediction
    def _check_initial_state(self, initial_state, n):
        if initial_state is None:
            return None
        if isinstance(initial_state, str):
            if initial_state != "last":
                raise ValueError(f"initial_state must be None, 'last' or an array; got "
                                 f"{initial_state!r}.")
            state = self.last_state_
        else:
            state = np.asarray(initial_state, dtype=np.float64)
        if state.shape != (n, self.n_reservoir):
            raise ValueError(f"initial_state must have shape ({n}, {self.n_reservoir}); got "
                             f"{state.shape}.")
        return state

    def _free_run(self, reservoir, U, lengths, h0=None, y0=None, keep_states=True):
        """Run on the model's own previous outputs (feedback): (Z, states, last states).

        One :meth:`~skrnn._reservoir_run.Reservoir.step` per time step, since each step's
        input needs the previous step's readout. ``states`` is None unless ``keep_states``.
        """
        T, n = U.shape[:2]
        dtype = reservoir.dtype
        h = np.zeros((n, self.n_reservoir), dtype) if h0 is None else h0.astype(dtype)
        y_prev = np.zeros((n, self.n_outputs_), dtype) if y0 is None else y0.astype(dtype)
        states = np.zeros((T, n, self.n_reservoir), dtype) if keep_states else None
        Z = np.zeros((T, n, self.n_outputs_), dtype)
        for t in range(T):
            active = (lengths > t)[:, None]
            h_new = reservoir.step(np.concatenate([U[t], y_prev], axis=1), h)
            z = self._readout(U[t], h_new)
            h = np.where(active, h_new, h)
            if keep_states:
                states[t] = np.where(active, h_new, 0)
            Z[t] = np.where(active, z, 0)
            y_prev = np.where(active, z, y_prev)
        return Z, states, h

    def _predicted_blocks(self, data, initial_state=None, keep_states=False):
        """Yields ``(chunk, t0, U, Z, states)`` for every time block of every chunk.

        ``states`` may be None for a free run (feedback) unless ``keep_states``.
        """
        check_is_fitted(self, "coef_")
        h0_all = self._check_initial_state(initial_state, data.n_sequences)
        reservoir = self._runner(data.dtype)
        started = time.perf_counter()
        for c, chunk in enumerate(data):
            idx = chunk.index
            h0 = None if h0_all is None else h0_all[idx]
            if self.feedback:
                y0 = self._last_target[idx] if isinstance(initial_state, str) else None
                U = chunk.batch.X
                Z, states, _ = self._free_run(reservoir, U, chunk.batch.lengths, h0=h0, y0=y0,
                                              keep_states=keep_states)
                self._check_outputs(Z, kept_steps(chunk.batch.lengths, 0, 0, U.shape[0]))
                yield chunk, 0, U, Z, states
            else:
                # predict needs only the readout: it reads the run's own layout directly.
                for t0, t1, U, states, _ in self._blocks(reservoir, chunk, h0=h0,
                                                         feature_major=not keep_states):
                    Z = (self._readout(U, states) if keep_states
                         else self._readout_feature_major(U, states))
                    self._check_outputs(Z, kept_steps(chunk.batch.lengths, 0, t0, t1))
                    yield chunk, t0, U, Z, states
            self._chunk_progress(c, len(data._chunks), chunk, started)

    def _check_outputs(self, Z, real):
        Z = Z[real]
        if not np.all(np.isfinite(Z)):
            raise ValueError("The reservoir's outputs are not finite for this input: its "
                             "values are too large. Scale the input.")
        if self.feedback and Z.size:
            self._warn_if_diverged(Z, "The free run")

    def _warn_if_diverged(self, Z, what):
        """Warn when outputs leave the training targets' range by orders of magnitude."""
        spread = np.maximum(np.sqrt(self._stats.var_y), 1e-12)
        far = float(np.max(np.abs(Z - self._stats.mean_y) / spread))
        if far > _DIVERGENCE_STDS:
            warnings.warn(
                f"{what} left the range of the training targets: an output lies "
                f"{far:.3g} standard deviations from their mean. The closed loop has "
                "diverged; lower spectral_radius or input_scaling, raise alpha or add noise.",
                UserWarning)

    def predict(self, X, initial_state=None):
        """Predict the targets of every time step.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        initial_state : None, "last" or ndarray of shape (n_sequences, n_reservoir)
            Reservoir state before the first step: zeros (default), the state at the end
            of the latest ``fit``/``partial_fit`` (``"last"``: warm continuation of the
            training sequences; with ``feedback`` the last training target is fed back
            first), or a given state.

        Returns
        -------
        y : ndarray or list of ndarray
            Per-step predictions in the structure of ``X``: ``(n_sequences, n_timesteps
            [, n_outputs])`` for 3-D ``X`` (NaN at padded steps), a list of
            ``(n_timesteps_i[, n_outputs])`` arrays, or ``(n_samples[, n_outputs])``.
            float32 for float32 ``X``.
        """
        check_is_fitted(self, "coef_")
        data = ChunkedInput(X, estimator=self, reset=False, n_units=self.n_reservoir)
        out = StepOutputs(data, self.n_outputs_, data.dtype, squeeze=self._y_ndim == 2)
        for chunk, t0, _, Z, _ in self._predicted_blocks(data, initial_state):
            out.put(chunk.index, t0, Z)
        return out.result()

    def transform(self, X, initial_state=None):
        """Reservoir states at every time step.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        initial_state : None, "last" or ndarray of shape (n_sequences, n_reservoir)
            As in :meth:`predict`.

        Returns
        -------
        states : ndarray or list of ndarray
            ``(n_sequences, n_timesteps, n_reservoir)`` for 3-D ``X`` (NaN at padding), a
            list of ``(n_timesteps_i, n_reservoir)`` arrays, or ``(n_samples, n_reservoir)``.
            With ``feedback=True`` the states are those of the free run on the model's own
            predictions.
        """
        check_is_fitted(self, "coef_")
        data = ChunkedInput(X, estimator=self, reset=False, n_units=self.n_reservoir)
        out = StepOutputs(data, self.n_reservoir, data.dtype)
        for chunk, t0, _, _, states in self._predicted_blocks(data, initial_state,
                                                              keep_states=True):
            out.put(chunk.index, t0, states)
        return out.result()

    def fit_transform(self, X, y, sample_weight=None):
        """Fit, then return the reservoir states of ``X`` (``fit(X, y).transform(X)``).

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            Per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence.

        Returns
        -------
        states : ndarray or list of ndarray
            As in :meth:`transform`.
        """
        return self.fit(X, y, sample_weight=sample_weight).transform(X)
    def generate(self, X_warmup, n_steps):
        """Closed-loop forecasting: warm up on a series, then run on the model's own output.

        The model must be a one-step-ahead forecaster: fitted with ``y[t] = X[t + 1]``, so
        ``n_outputs_ == n_features_in_``. The reservoir first runs over each warm-up series
        (from the zero state; with ``feedback`` the true next values are fed back, as in
        ``fit``). The readout of the last warm-up step is the first forecast, the value
        that follows the series; each forecast is then fed back as the next input, for
        ``n_steps`` steps in all.

        Parameters
        ----------
        X_warmup : array-like of shape (n_sequences, n_timesteps, n_features) or list of \
                arrays of shape (n_timesteps_i, n_features)
            The observed series; the forecast continues each one. It should be longer than
            ``washout`` so that the state has forgotten its zero start.
        n_steps : int
            Number of forecast steps.

        Returns
        -------
        forecast : ndarray of shape (n_sequences, n_steps, n_features)
            ``forecast[i, k]`` predicts the value ``k + 1`` steps after the end of series
            ``i``.
        """
        check_is_fitted(self, "coef_")
        n_steps = check_lengths_argument(n_steps)
        if self.n_outputs_ != self.n_features_in_:
            raise ValueError(
                f"generate needs a one-step-ahead forecaster whose outputs are its next "
                f"inputs; this model has {self.n_outputs_} outputs and "
                f"{self.n_features_in_} input features.")
        batch = check_sequences(X_warmup, estimator=self, reset=False)
        n = batch.n_sequences
        reservoir = self._runner(batch.X.dtype)
        U, lengths = batch.X, batch.lengths
        h = None
        for t0, t1 in time_blocks(U.shape[0], n, self.n_reservoir):
            drive = U[t0:t1]
            if self.feedback:  # the previous target of step t is the input of step t
                drive = np.concatenate([drive, drive], axis=2)
            _, h = reservoir.run(drive, np.clip(lengths - t0, 0, t1 - t0), h0=h)
        u = U[lengths - 1, np.arange(n)]
        out = np.empty((n, n_steps, batch.n_features), dtype=U.dtype)
        for k in range(n_steps):
            y = self._readout(u, h)
            out[:, k] = y
            h = reservoir.step(np.concatenate([y, y], axis=1) if self.feedback else y, h)
            u = y
        if not np.all(np.isfinite(out)):
            raise ValueError("The closed-loop forecast diverged to non-finite values.")
        self._warn_if_diverged(out, "The closed-loop forecast")
        return out

    def score(self, X, y, sample_weight=None):
        """R² over all real time steps after the washout (flattened over sequences).

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            True per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence (carried by each of its steps).

        Returns
        -------
        score : float
            :func:`sklearn.metrics.r2_score` of the kept steps, averaged uniformly over
            outputs.
        """
        check_is_fitted(self, "coef_")
        data = ChunkedInput(X, estimator=self, reset=False, n_units=self.n_reservoir, y=y)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, np.empty((data.n_sequences, 1)),
                                      dtype=np.float64)
        true, pred, weights = [], [], []
        for chunk, t0, _, Z, _ in self._predicted_blocks(data):
            keep = kept_steps(chunk.batch.lengths, self.washout, t0, t0 + Z.shape[0])
            true.append(chunk.Y[t0:t0 + Z.shape[0]][keep])
            pred.append(Z[keep])
            if sw is not None:
                weights.append(np.broadcast_to(sw[chunk.index], keep.shape)[keep])
        return r2_score(np.concatenate(true), np.concatenate(pred),
                        sample_weight=np.concatenate(weights) if weights else None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        # transform() returns reservoir states, so scikit-learn's transformer checks run.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags
