"""EchoStateRegressor: a fixed random reservoir and a ridge readout, per-step regression."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._bptt import run_reservoir
from ._reservoir import input_weights, normalised_reservoir, warn_if_no_echo_state
from ._sequences import (
    check_lengths_argument,
    check_sequences,
    check_step_targets,
    restore_structure,
)

__all__ = ["EchoStateRegressor"]


class EchoStateRegressor(RegressorMixin, BaseEstimator):
    r"""Echo state network: a fixed random reservoir and a trained linear (ridge) readout.

    Each time step updates the reservoir state (a leaky-integrator network whose recurrent
    matrix is random, sparse, and scaled to a chosen spectral radius):

    .. math::
        x_t = (1 - a) x_{t-1} + a \tanh(\rho W x_{t-1} + W_{in} u_t + W_{back} y_{t-1} + b)

    and the output is a linear readout ``y_t = W_out [u_t, x_t] + c`` (``[1, u, x]`` in the
    source documents, the 1 being the intercept ``c``), fitted by ridge regression over all
    real time steps after the washout. Only the readout is trained, in one linear solve.

    Parameters
    ----------
    n_reservoir : int, default=100
        Reservoir units.
    spectral_radius : float, default=0.9
        Spectral radius :math:`\rho` of the recurrent matrix. The reservoir is normalised
        to radius 1 once per fit and scaled at run time, so changing ``spectral_radius``
        (e.g. in a grid search) never recomputes eigenvalues.
    leak_rate : float in (0, 1], default=1.0
        Leak :math:`a` of the leaky integrator (1: no leak).
    input_scaling : float, default=1.0
        Input weights are uniform in ``[-input_scaling, input_scaling]``.
    bias_scaling : float, default=0.1
        Reservoir biases are uniform in ``[-bias_scaling, bias_scaling]``.
    density : float in (0, 1], default=0.1
        Fraction of non-zero recurrent connections; below 1 the reservoir is a CSR sparse
        matrix.
    input_density : float in (0, 1], default=1.0
        Fraction of non-zero input weights.
    activation : {"tanh", "relu", "identity"}, default="tanh"
        Reservoir activation.
    washout : int, default=0
        Time steps dropped from the readout fit (and from :meth:`score`) at the start of
        every sequence, while the state forgets its zero initial condition. A sequence of
        length ``L`` drops ``min(washout, L - 1)`` steps, so every sequence, including the
        length-1 sequences of 2-D input, keeps at least one step.
    alpha : float, default=1e-6
        Ridge penalty of the readout (not applied to the intercept).
    include_input : bool, default=True
        Whether the readout sees the input ``u_t`` besides the state ``x_t``.
    feedback : bool, default=False
        Feed the previous output into the reservoir through ``W_back``: the true previous
        target in ``fit`` (teacher forcing), the model's own previous prediction in
        ``predict``.
    feedback_scaling : float, default=1.0
        Feedback weights are uniform in ``[-feedback_scaling, feedback_scaling]``.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the reservoir's pre-activation during
        ``fit`` (a regulariser, useful with feedback); never at prediction.
    random_state : int, RandomState instance or None, default=None
        Controls the reservoir, the input, bias and feedback weights, the eigen-solver's
        start vector and the noise, through independent streams.

    Attributes
    ----------
    W_ : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Recurrent matrix normalised to spectral radius 1 (used as ``spectral_radius * W_``).
    W_in_ : ndarray of shape (n_reservoir, n_features_in_)
        Input weights.
    W_back_ : ndarray of shape (n_reservoir, n_outputs_) or None
        Feedback weights (``feedback=True`` only).
    bias_ : ndarray of shape (n_reservoir,)
        Reservoir biases.
    coef_ : ndarray of shape (n_outputs_, n_readout_features)
        Readout weights on ``[u_t, x_t]`` (or ``x_t`` without ``include_input``).
    intercept_ : ndarray of shape (n_outputs_,)
        Readout intercept.
    n_outputs_ : int
        Outputs per time step.
    last_state_ : ndarray of shape (n_sequences, n_reservoir)
        Reservoir state after the last step of each sequence of the latest ``fit`` or
        ``partial_fit`` (the start of ``partial_fit(..., continue_state=True)``).
    n_features_in_ : int
        Features per time step.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    LSTMRegressor : A trained recurrent network, one value per sequence.

    Notes
    -----
    Targets are per step: for 3-D ``X`` ``(n_sequences, n_timesteps, n_features)``, ``y`` is
    ``(n_sequences, n_timesteps[, n_outputs])``; for a list of sequences, a list of
    ``(n_timesteps_i[, n_outputs])`` arrays; for 2-D ``X`` (length-1 sequences),
    ``(n_samples[, n_outputs])``. ``predict`` returns the same structure.

    The readout is solved from sufficient statistics (weighted sums of the features, the
    targets and their products) with weighted centring, so fitting several sequences at
    once, ``partial_fit`` on chunks and a single ``fit`` give the same readout to rounding,
    and a sample weight equals repeating the sequence.

    References
    ----------
    H. Jaeger, "The echo state approach to analysing and training recurrent neural
    networks", GMD Report 148, 2001. M. Lukoševičius, "A practical guide to applying echo
    state networks", 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import EchoStateRegressor
    >>> t = np.arange(600) * 0.1
    >>> X, y = np.sin(t)[None, :-1, None], np.sin(t)[None, 1:]  # next value of a sine
    >>> esn = EchoStateRegressor(n_reservoir=50, washout=50, random_state=0).fit(X, y)
    >>> esn.score(X, y) > 0.999
    True
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
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
        w_rng, eig_rng, in_rng, b_rng, back_rng, self._noise_seed = streams
        self.W_ = normalised_reservoir(self.n_reservoir, self.density, w_rng, eig_rng)
        self.W_in_ = input_weights(self.n_reservoir, n_features, self.input_density,
                                   self.input_scaling, in_rng)
        self.bias_ = b_rng.uniform(-self.bias_scaling, self.bias_scaling, self.n_reservoir)
        self.W_back_ = (input_weights(self.n_reservoir, n_outputs, 1.0,
                                      self.feedback_scaling, back_rng)
                        if self.feedback else None)
        self.n_outputs_ = n_outputs
        self._stats = None

    def _scaled_reservoir(self):
        return self.W_ * self.spectral_radius

    # ------------------------------------------------------------------ running
    def _run(self, batch, W, *, Y_prev=None, h0=None, noise_rng=None):
        """Teacher-forced or feedback-free reservoir states, (T, n, R), and last states."""
        U = batch.X.astype(np.float64, copy=False)
        W_in = self.W_in_
        if self.feedback:
            U = np.concatenate([U, Y_prev], axis=2)
            W_in = np.hstack([self.W_in_, self.W_back_])
        noise = None
        if noise_rng is not None and self.noise > 0:
            noise = noise_rng.standard_normal(U.shape[:2] + (self.n_reservoir,)) * self.noise
        return run_reservoir(U, batch.lengths, W_in, W, self.bias_, leak_rate=self.leak_rate,
                             activation=self.activation, h0=h0, noise=noise)

    def _features(self, batch, states):
        if self.include_input:
            return np.concatenate([batch.X.astype(np.float64, copy=False), states], axis=2)
        return states

    def _readout(self, F):
        return F @ self.coef_.T + self.intercept_

    def _free_run(self, batch, h0=None, y0=None):
        """Run with the model's own previous outputs fed back; returns (Z, states, last)."""
        W = self._scaled_reservoir()
        T, n = batch.n_timesteps, batch.n_sequences
        W_in = np.hstack([self.W_in_, self.W_back_])
        h = np.zeros((n, self.n_reservoir)) if h0 is None else h0
        y_prev = np.zeros((n, self.n_outputs_)) if y0 is None else y0
        states = np.zeros((T, n, self.n_reservoir))
        Z = np.zeros((T, n, self.n_outputs_))
        ones = np.ones(n, dtype=np.intp)
        U = batch.X.astype(np.float64, copy=False)
        for t in range(T):
            active = batch.lengths > t
            step_in = np.concatenate([U[t], y_prev], axis=1)[None]
            s, h_new = run_reservoir(step_in, ones, W_in, W, self.bias_,
                                     leak_rate=self.leak_rate, activation=self.activation,
                                     h0=h)
            h = np.where(active[:, None], h_new, h)
            states[t] = np.where(active[:, None], s[0], 0)
            feats = np.concatenate([U[t], states[t]], axis=1) if self.include_input \
                else states[t]
            z = self._readout(feats)
            Z[t] = np.where(active[:, None], z, 0)
            y_prev = np.where(active[:, None], z, y_prev)
        return Z, states, h

    def _washout_mask(self, batch, continuing=False):
        """Real steps that enter the readout: after min(washout, L - 1) steps."""
        mask = batch.mask
        if continuing or self.washout == 0:
            return mask
        drop = np.minimum(self.washout, batch.lengths - 1)
        return mask & (np.arange(batch.n_timesteps)[:, None] >= drop[None, :])

    # ------------------------------------------------------------------ fitting
    def _targets(self, y, batch, first):
        Y = check_step_targets(y, batch, numeric=True, allow_multi_output=True)
        Y = np.asarray(Y, dtype=np.float64)
        if first:
            self._y_ndim = Y.ndim
        elif (Y.ndim == 3 and Y.shape[2] != self.n_outputs_) or \
                (Y.ndim == 2 and self.n_outputs_ != 1):
            raise ValueError(f"y has a different number of outputs than the "
                             f"{self.n_outputs_} seen before.")
        return Y if Y.ndim == 3 else Y[:, :, None]

    def _accumulate(self, X, y, sample_weight, *, first, continue_state=False):
        batch = check_sequences(X, estimator=self, reset=first)
        Y = self._targets(y, batch, first)
        sw = _check_sample_weight(sample_weight, batch.X[0], dtype=np.float64,
                                  ensure_non_negative=True)
        if first:
            warn_if_no_echo_state(self.spectral_radius, self.leak_rate)
            self._build_reservoir(batch.n_features, Y.shape[2])
            self._noise_rng = np.random.default_rng(self._noise_seed)
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
        states, last = self._run(batch, self._scaled_reservoir(), Y_prev=Y_prev, h0=h0,
                                 noise_rng=self._noise_rng)
        rows = self._washout_mask(batch, continuing=continue_state)
        F = self._features(batch, states)[rows]
        T_ = Y[rows]
        w = np.broadcast_to(sw[None, :], rows.shape)[rows]
        Fw = F * w[:, None]
        stats = (w.sum(), Fw.sum(axis=0), (T_ * w[:, None]).sum(axis=0), Fw.T @ F, Fw.T @ T_)
        if self._stats is None:
            self._stats = list(stats)
        else:
            for i, s in enumerate(stats):
                self._stats[i] = self._stats[i] + s
        self.last_state_ = last
        self._last_target = Y[batch.lengths - 1, np.arange(batch.n_sequences)]
        self._solve()
        return self

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
            coef = scipy.linalg.solve(C_ff, C_fy, assume_a="pos")
        except (np.linalg.LinAlgError, ValueError):
            coef = scipy.linalg.lstsq(C_ff, C_fy)[0]
        self.coef_ = coef.T
        self.intercept_ = mean_y - mean_f @ coef

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
        """
        return self._accumulate(X, y, sample_weight, first=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, continue_state=False):
        """Add ``X`` to the readout's statistics and re-solve it.

        Calling ``partial_fit`` on chunks gives the same readout as one ``fit`` on all of
        them: as separate sequences by default, or, with ``continue_state=True``, as the
        continuation of the previous call's sequences (the reservoir state and the
        teacher-forced feedback carry over, and no washout is applied to the chunk).

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            Per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
        continue_state : bool, default=False
            Continue the sequences of the previous call (same number of sequences).

        Returns
        -------
        self : EchoStateRegressor
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
        if self.feedback:
            y0 = self._last_target if isinstance(initial_state, str) else None
            Z, states, _ = self._free_run(batch, h0=h0, y0=y0)
        else:
            states, _ = self._run(batch, self._scaled_reservoir(), h0=h0)
            Z = self._readout(self._features(batch, states))
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
            training series), or a given state.

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

        Returns
        -------
        states : ndarray or list of ndarray
            As in :meth:`transform`.
        """
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def generate(self, X_warmup, n_steps):
        """Closed-loop forecasting: warm up on a series, then run on the model's own output.

        The model must be a one-step-ahead forecaster (``n_outputs_ == n_features_in_``,
        trained with ``y[t] = X[t + 1]``): after the warm-up, each prediction becomes the
        next input. With ``feedback=True`` the warm-up feeds back the true next values
        (teacher forcing, as in ``fit``).

        Parameters
        ----------
        X_warmup : array-like of shape (n_sequences, n_timesteps, n_features) or list of \
                arrays of shape (n_timesteps_i, n_features)
            The observed series; the forecast continues each one.
        n_steps : int
            Number of free-running steps.

        Returns
        -------
        forecast : ndarray of shape (n_sequences, n_steps, n_features)
        """
        check_is_fitted(self, "coef_")
        n_steps = check_lengths_argument(n_steps)
        if self.n_outputs_ != self.n_features_in_:
            raise ValueError(
                f"generate needs a one-step-ahead forecaster whose outputs are its next "
                f"inputs; this model has {self.n_outputs_} outputs and "
                f"{self.n_features_in_} input features.")
        batch = check_sequences(X_warmup, estimator=self, reset=False)
        n, d = batch.n_sequences, batch.n_features
        W = self._scaled_reservoir()
        Y_prev = None
        if self.feedback:  # previous target of step t is the input of step t
            Y_prev = batch.X.astype(np.float64, copy=True)
        _, h = self._run(batch, W, Y_prev=Y_prev)
        last_u = batch.X[batch.lengths - 1, np.arange(n)].astype(np.float64)
        W_in = np.hstack([self.W_in_, self.W_back_]) if self.feedback else self.W_in_
        ones = np.ones(n, dtype=np.intp)
        # The readout of the last warm-up step gives the first forecast.
        x_last = h
        out = np.empty((n, n_steps, d))
        u = last_u
        for k in range(n_steps):
            feats = np.concatenate([u, x_last], axis=1) if self.include_input else x_last
            y = self._readout(feats)
            out[:, k] = y
            step_in = np.concatenate([y, y], axis=1) if self.feedback else y
            _, x_last = run_reservoir(step_in[None], ones, W_in, W, self.bias_,
                                      leak_rate=self.leak_rate, activation=self.activation,
                                      h0=x_last)
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

        Returns
        -------
        score : float
            Averaged uniformly over outputs.
        """
        Z, _, batch = self._predict_steps(X)
        Y = check_step_targets(y, batch, numeric=True, allow_multi_output=True)
        Y = np.asarray(Y, dtype=np.float64)
        Y = Y if Y.ndim == 3 else Y[:, :, None]
        rows = self._washout_mask(batch)
        w = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, batch.X[0], dtype=np.float64)
            w = np.broadcast_to(sw[None, :], rows.shape)[rows]
        return r2_score(Y[rows], Z[rows], sample_weight=w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        # transform() returns reservoir states, so scikit-learn's transformer checks run.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags
