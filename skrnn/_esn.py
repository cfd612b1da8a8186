"""EchoStateRegressor: a fixed random reservoir and a ridge readout, per-step regression."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._reservoir import input_weights, normalised_reservoir, warn_if_no_echo_state
from ._reservoir_run import recurrent_adder, run_reservoir
from ._sequences import (
    check_lengths_argument,
    check_sequences,
    check_step_targets,
    restore_structure,
)

__all__ = ["EchoStateRegressor"]

# Independent random streams spawned from ``random_state``, in this order.
_STREAMS = ("reservoir", "eigen_solver", "input", "bias", "feedback", "noise")


class EchoStateRegressor(RegressorMixin, BaseEstimator):
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

    The readout is solved from sufficient statistics: with per-step weights :math:`w`
    (the weight of the step's sequence) and features :math:`f = [u, x]`, the weighted sums
    :math:`\sum w`, :math:`\sum w f`, :math:`\sum w y`, :math:`\sum w f f^T` and
    :math:`\sum w f y^T`. Weighted centring gives the intercept, and the ridge penalty acts
    on the centred problem only:
    :math:`W_{out}^T = (C_{ff} + \alpha I)^{-1} C_{fy}`. Fitting several sequences at
    once, ``partial_fit`` on chunks and a single ``fit`` therefore give the same readout to
    rounding, and a sample weight of ``k`` equals repeating a sequence ``k`` times.

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

    _parameter_constraints: dict = {
        "n_reservoir": [Interval(Integral, 1, None, closed="left")],
        "spectral_radius": [Interval(Real, 0, None, closed="left")],
        "leak_rate": [Interval(Real, 0, 1, closed="right")],
        "input_scaling": [Interval(Real, 0, None, closed="left")],
        "bias_scaling": [Interval(Real, 0, None, closed="left")],
        "density": [Interval(Real, 0, 1, closed="right")],
        "input_density": [Interval(Real, 0, 1, closed="right")],
        "activation": [StrOptions({"tanh", "relu", "identity"})],
        "washout": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "include_input": ["boolean"],
        "feedback": ["boolean"],
        "feedback_scaling": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
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
        washout=0,
        alpha=1e-6,
        include_input=True,
        feedback=False,
        feedback_scaling=1.0,
        noise=0.0,
        random_state=None,
    ):
        self.n_reservoir = n_reservoir
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.input_scaling = input_scaling
        self.bias_scaling = bias_scaling
        self.density = density
        self.input_density = input_density
        self.activation = activation
        self.washout = washout
        self.alpha = alpha
        self.include_input = include_input
        self.feedback = feedback
        self.feedback_scaling = feedback_scaling
        self.noise = noise
        self.random_state = random_state

    # ------------------------------------------------------------------ construction
    def _build_reservoir(self, n_features, n_outputs):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rngs = dict(zip(_STREAMS, (np.random.default_rng(s) for s in
                                   np.random.SeedSequence(seed).spawn(len(_STREAMS)))))
        self.W_, self.spectral_radius_unit_ = normalised_reservoir(
            self.n_reservoir, self.density, rngs["reservoir"], rngs["eigen_solver"])
        self.W_in_ = input_weights(self.n_reservoir, n_features, self.input_density,
                                   self.input_scaling, rngs["input"])
        self.bias_ = rngs["bias"].uniform(-self.bias_scaling, self.bias_scaling,
                                          self.n_reservoir)
        self.W_back_ = (input_weights(self.n_reservoir, n_outputs, self.input_density,
                                      self.feedback_scaling, rngs["feedback"])
                        if self.feedback else None)
        self._noise_rng = rngs["noise"]
        self.n_outputs_ = n_outputs
        self._stats = None

    def _scaled_reservoir(self):
        # Scaling at run time: a new spectral_radius costs one pass over the non-zeros.
        if sp.issparse(self.W_):
            W = self.W_.copy()
            W.data *= self.spectral_radius
            return W
        return self.W_ * self.spectral_radius

    def _input_matrix(self):
        """Weights of the reservoir's external drive: ``[W_in, W_back]`` with feedback."""
        return np.hstack([self.W_in_, self.W_back_]) if self.feedback else self.W_in_

    # ------------------------------------------------------------------ running
    def _run(self, U, lengths, *, Y_prev=None, h0=None, noise_rng=None):
        """Reservoir states (T, n, R) and last states, feedback teacher-forced by Y_prev."""
        if self.feedback:
            U = np.concatenate([U, Y_prev], axis=2)
        noise = None
        if noise_rng is not None and self.noise > 0:
            noise = noise_rng.standard_normal(U.shape[:2] + (self.n_reservoir,))
            noise *= self.noise
        return run_reservoir(U, lengths, self._input_matrix(), self._scaled_reservoir(),
                             self.bias_, leak_rate=self.leak_rate,
                             activation=self.activation, h0=h0, noise=noise)

    def _readout(self, U, states):
        """``coef_ @ [u, x] + intercept_`` without building the concatenated features."""
        d = U.shape[-1] if self.include_input else 0
        Z = states @ self.coef_[:, d:].T
        if d:
            Z += U @ self.coef_[:, :d].T
        Z += self.intercept_
        return Z

    def _free_run(self, U, lengths, h0=None, y0=None):
        """Run on the model's own previous outputs (feedback): (Z, states, last states).

        One step at a time through the shared runner, since each step's input needs the
        previous step's readout.
        """
        T, n = U.shape[:2]
        W = recurrent_adder(self._scaled_reservoir(), n)  # built once for all steps
        W_in = self._input_matrix()
        h = np.zeros((n, self.n_reservoir)) if h0 is None else h0
        y_prev = np.zeros((n, self.n_outputs_)) if y0 is None else y0
        states = np.zeros((T, n, self.n_reservoir))
        Z = np.zeros((T, n, self.n_outputs_))
        for t in range(T):
            active = lengths > t
            step_in = np.concatenate([U[t], y_prev], axis=1)[None]
            _, h_new = run_reservoir(step_in, np.ones(n, dtype=np.intp), W_in, W,
                                     self.bias_, leak_rate=self.leak_rate,
                                     activation=self.activation, h0=h)
            h = np.where(active[:, None], h_new, h)
            states[t] = np.where(active[:, None], h_new, 0.0)
            z = self._readout(U[t], states[t])
            Z[t] = np.where(active[:, None], z, 0.0)
            y_prev = np.where(active[:, None], z, y_prev)
        return Z, states, h

    def _kept_steps(self, batch, continuing=False):
        """Real steps that enter the readout: all but the first min(washout, L - 1).

        Returns ``(first, mask)``: when every sequence is full-length and drops the same
        number of steps, ``first`` is that number and ``mask`` is None (the kept steps are
        the contiguous slice ``[first:]``); otherwise ``first`` is None and ``mask`` a
        boolean array of shape (n_timesteps, n_sequences).
        """
        drop = np.zeros_like(batch.lengths) if continuing else np.minimum(
            self.washout, batch.lengths - 1)
        if batch.equal_lengths and np.all(drop == drop[0]):
            return int(drop[0]), None
        mask = batch.mask & (np.arange(batch.n_timesteps)[:, None] >= drop[None, :])
        return None, mask

    @staticmethod
    def _select(a, first, mask):
        """Rows of a time-major (T, n, ...) array at the kept steps, flattened."""
        if mask is None:  # a view: no copy of the (possibly large) state matrix
            return a[first:].reshape((-1,) + a.shape[2:])
        return a[mask]

    # ------------------------------------------------------------------ fitting
    def _targets(self, y, batch, first):
        Y = check_step_targets(y, batch, numeric=True, allow_multi_output=True)
        Y = np.asarray(Y, dtype=np.float64)
        if first:
            self._y_ndim = Y.ndim
        else:
            n_out = Y.shape[2] if Y.ndim == 3 else 1
            if n_out != self.n_outputs_ or Y.ndim != self._y_ndim:
                raise ValueError(
                    f"y has {n_out} output(s) per step in a {Y.ndim}-D layout, but the "
                    f"model was fitted with {self.n_outputs_} in a {self._y_ndim}-D layout; "
                    "partial_fit needs targets of the same shape.")
        return Y if Y.ndim == 3 else Y[:, :, None]

    def _accumulate(self, X, y, sample_weight, *, first, continue_state=False):
        batch = check_sequences(X, estimator=self, reset=first)
        Y = self._targets(y, batch, first)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, batch.X[0], dtype=np.float64,
                                      ensure_non_negative=True)
        if first:
            warn_if_no_echo_state(self.spectral_radius, self.leak_rate)
            self._build_reservoir(batch.n_features, Y.shape[2])
        h0, y0 = None, None
        if continue_state:
            if self.last_state_.shape[0] != batch.n_sequences:
                raise ValueError(
                    f"continue_state=True continues {self.last_state_.shape[0]} sequence(s), "
                    f"but X has {batch.n_sequences}.")
            h0, y0 = self.last_state_, self._last_target
        Y_prev = None
        if self.feedback:  # teacher forcing: the true previous target
            Y_prev = np.zeros_like(Y)
            Y_prev[1:] = Y[:-1]
            if y0 is not None:
                Y_prev[0] = y0
        U = batch.X.astype(np.float64, copy=False)
        states, last = self._run(U, batch.lengths, Y_prev=Y_prev, h0=h0,
                                 noise_rng=self._noise_rng)
        first_kept, mask = self._kept_steps(batch, continuing=continue_state)
        rows = (self._select(U, first_kept, mask) if self.include_input else None,
                self._select(states, first_kept, mask), self._select(Y, first_kept, mask))
        w = None
        if sw is not None:  # the per-step weight is its sequence's weight
            w = self._select(np.broadcast_to(sw, batch.mask.shape), first_kept, mask)
        stats = self._sufficient_statistics(*rows, w)
        if self._stats is None:
            self._stats = list(stats)
        else:
            for i, s in enumerate(stats):
                self._stats[i] = self._stats[i] + s
        self.last_state_ = last
        self._last_target = Y[batch.lengths - 1, np.arange(batch.n_sequences)]
        self._solve()
        return self

    @staticmethod
    def _sufficient_statistics(U, S, Y, w):
        """Weighted sums (sum w, sum w f, sum w y, sum w f f^T, sum w f y^T), f = [u, x].

        ``S.T @ S`` is recognised by NumPy as a symmetric rank-k update (half the work of a
        general product); the small input block is added separately, so the features are
        never concatenated into a copy of the state matrix.
        """
        if w is None:
            n_w, Y_w, sum_s = float(S.shape[0]), Y, S.sum(axis=0)
            SS = S.T @ S
        else:
            n_w, Y_w, sum_s = float(w.sum()), Y * w[:, None], w @ S
            root = S * np.sqrt(w)[:, None]
            SS = root.T @ root
        sum_y = Y_w.sum(axis=0)
        SY = S.T @ Y_w
        if U is None:
            return n_w, sum_s, sum_y, SS, SY
        U_w = U if w is None else U * w[:, None]
        d = U.shape[1]
        FF = np.empty((d + SS.shape[0],) * 2)
        FF[:d, :d] = U_w.T @ U
        FF[:d, d:] = U_w.T @ S
        FF[d:, :d] = FF[:d, d:].T
        FF[d:, d:] = SS
        return (n_w, np.concatenate([U_w.sum(axis=0), sum_s]), sum_y, FF,
                np.vstack([U.T @ Y_w, SY]))

    def _solve(self):
        S_w, S_f, S_y, FtF, FtY = self._stats
        if S_w <= 0:
            raise ValueError("No time step with positive weight is left after the washout; "
                             "lower washout or check sample_weight.")
        mean_f, mean_y = S_f / S_w, S_y / S_w
        C_ff = FtF - S_w * np.outer(mean_f, mean_f)
        C_fy = FtY - S_w * np.outer(mean_f, mean_y)
        C_ff[np.diag_indices_from(C_ff)] += self.alpha
        try:
            coef = scipy.linalg.solve(C_ff, C_fy, assume_a="pos", check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            # Singular without a ridge (alpha=0 and collinear features): least squares.
            coef = scipy.linalg.lstsq(C_ff, C_fy)[0]
        self.coef_ = np.ascontiguousarray(coef.T)
        self.intercept_ = mean_y - mean_f @ coef
        self.n_steps_seen_ = float(S_w)

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

    def _predict_steps(self, X, initial_state=None):
        check_is_fitted(self, "coef_")
        batch = check_sequences(X, estimator=self, reset=False)
        h0 = self._check_initial_state(initial_state, batch.n_sequences)
        U = batch.X.astype(np.float64, copy=False)
        if self.feedback:
            y0 = self._last_target if isinstance(initial_state, str) else None
            Z, states, _ = self._free_run(U, batch.lengths, h0=h0, y0=y0)
        else:
            states, _ = self._run(U, batch.lengths, h0=h0)
            Z = self._readout(U, states)
        if not np.all(np.isfinite(Z[batch.mask])):
            raise ValueError("The reservoir's outputs are not finite for this input: its "
                             "values are too large. Scale the input.")
        return Z, states, batch

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
        """
        Z, _, batch = self._predict_steps(X, initial_state)
        if self._y_ndim == 2:
            Z = Z[:, :, 0]
        return restore_structure(Z, batch, fill_value=np.nan)

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
        _, states, batch = self._predict_steps(X, initial_state)
        return restore_structure(states, batch, fill_value=np.nan)

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
        U = batch.X.astype(np.float64, copy=False)
        # With feedback, the previous target of step t is the input of step t.
        _, h = self._run(U, batch.lengths, Y_prev=U if self.feedback else None)
        W = recurrent_adder(self._scaled_reservoir(), n)  # built once for all steps
        W_in = self._input_matrix()
        ones = np.ones(n, dtype=np.intp)
        u = U[batch.lengths - 1, np.arange(n)]
        out = np.empty((n, n_steps, batch.n_features))
        for k in range(n_steps):
            y = self._readout(u, h)
            out[:, k] = y
            step_in = np.concatenate([y, y], axis=1) if self.feedback else y
            _, h = run_reservoir(step_in[None], ones, W_in, W, self.bias_,
                                 leak_rate=self.leak_rate, activation=self.activation, h0=h)
            u = y
        if not np.all(np.isfinite(out)):
            raise ValueError("The closed-loop forecast diverged to non-finite values.")
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
        Z, _, batch = self._predict_steps(X)
        Y = check_step_targets(y, batch, numeric=True, allow_multi_output=True)
        Y = np.asarray(Y, dtype=np.float64)
        Y = Y if Y.ndim == 3 else Y[:, :, None]
        first, mask = self._kept_steps(batch)
        w = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, batch.X[0], dtype=np.float64)
            w = self._select(np.broadcast_to(sw, batch.mask.shape), first, mask)
        return r2_score(self._select(Y, first, mask), self._select(Z, first, mask),
                        sample_weight=w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        # transform() returns reservoir states, so scikit-learn's transformer checks run.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags
