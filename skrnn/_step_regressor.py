"""GRUStepRegressor: a value (or vector of values) at every time step (synced many-to-many
regression), the regression twin of GRUTagger."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from ._base import (
    BaseRecurrentNetwork,
    PerStepMixin,
    has_stochastic_solver,
    training_parameters_doc,
)

__all__ = ["GRUStepRegressor"]


class GRUStepRegressor(RegressorMixin, PerStepMixin, BaseRecurrentNetwork):
    __doc__ = """Recurrent per-step regressor: a value, or a vector of values, at every step.

    A stack of recurrent layers (GRU by default) reads each sequence; a linear layer reads
    the top layer's output at every step (for ``bidirectional=True``, both directions
    concatenated, so each step sees its future too). The loss is half the squared error
    averaged over real steps and outputs, as ``MLPRegressor``'s: padding contributes nothing
    to the loss or to any gradient. This is the synchronised many-to-many case of
    regression, the twin of :class:`GRUTagger`: a quantity to estimate at every step of a
    signal (a filtered or smoothed value, a hidden state, the next value of the series).

    Parameters
    ----------
{parameters}

    Attributes
    ----------
    weights_ : dict of str to ndarray
        Fitted weights under PyTorch's names; see :meth:`get_weights`.
    loss_curve_ : list of float
        Training loss (half mean squared error per real step, plus penalty) after each
        epoch.
    best_loss_ : float or None
        Lowest training loss of the latest fit (None with early stopping).
    validation_scores_ : list of float or None
        Validation R² over real steps after each epoch (early stopping only).
    best_validation_score_ : float or None
        Best validation R² (early stopping only).
    n_iter_ : int
        Epochs of the latest call (``partial_fit``: 1), as in ``MLPClassifier``;
        ``loss_curve_`` holds every epoch.
    loss_ : float
        Training loss of the last epoch (penalty included).
    t_ : int
        Training sequences seen.
    n_outputs_ : int
        Number of outputs per step.
    n_layers_ : int
        Number of recurrent layers.
    n_features_in_ : int
        Features per time step seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    GRUTagger : A class label at every step.
    LSTMRegressor : One value (or vector) per sequence.
    EchoStateRegressor : Per-step regression with a fixed reservoir and a ridge readout.
    skrnn.metrics.FLAT_SCORERS : Per-step scorers for ``cross_validate`` and
        ``GridSearchCV`` (``scoring="r2"`` does not work on per-step targets).

    Notes
    -----
    Targets follow the input: for a 3-D ``X`` of shape ``(n_sequences, n_timesteps,
    n_features)``, ``y`` has shape ``(n_sequences, n_timesteps)`` or ``(n_sequences,
    n_timesteps, n_outputs)`` (its values at padded steps are ignored, NaN included); for a
    list of sequences, ``y`` is a list of arrays of shape ``(n_timesteps_i,)`` or
    ``(n_timesteps_i, n_outputs)``; for a 2-D ``X`` (length-1 sequences), ``y`` has shape
    ``(n_samples,)`` or ``(n_samples, n_outputs)``. ``predict`` returns the same structure,
    with NaN at the padded steps of a 3-D ``X``; as with :class:`LSTMRegressor`, targets
    without an output axis give predictions without one. NaN or infinity in ``y`` at a real
    step is a ``ValueError`` naming the sequence and the step.

    ``score`` is R² over all real steps (flattened; with several outputs, the mean of their
    R², scikit-learn's ``"uniform_average"``), each step weighted by its sequence's
    ``sample_weight``. ``scoring=None`` in ``GridSearchCV``/``cross_validate`` uses it; a
    scikit-learn scorer name such as ``scoring="r2"`` does not score per-step targets (it
    expects one target per sample): use ``skrnn.metrics.FLAT_SCORERS["r2"]`` or
    ``FLAT_SCORERS["neg_mean_squared_error"]``, which score every real step.

    Targets are not rescaled: like ``MLPRegressor``, it learns best when ``y`` is roughly
    standardised.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import GRUStepRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.standard_normal((L, 1)) for L in rng.integers(5, 15, 200)]
    >>> y = [np.r_[0.0, x[:-1, 0]] + x[:, 0] for x in X]  # x_(t-1) + x_t
    >>> reg = GRUStepRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                        max_iter=60, random_state=0).fit(X, y)
    >>> [p.shape for p in reg.predict(X[:2])]
    [(13,), (11,)]
    >>> reg.score(X, y) > 0.95
    True
    """.format(parameters=training_parameters_doc(default_cell="gru",
                                                 early_stopping_score="R² over real steps",
                                                 stratified=False))

    _step_multi_output = True
    _step_numeric = True

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        cell="gru",
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        bidirectional=False,
        init="auto",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        shuffle=True,
        random_state=None,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_fun=15000,
        dropout=0.0,
        clip_norm=None,
        bptt_truncate=None,
        clock_periods=None,
        dtype=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, cell=cell, activation=activation,
            recurrent_activation=recurrent_activation, reset_after=reset_after,
            bidirectional=bidirectional, init=init, solver=solver, alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, validation_split=validation_split,
            shuffle=shuffle,
            random_state=random_state, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, max_fun=max_fun, dropout=dropout,
            clip_norm=clip_norm, bptt_truncate=bptt_truncate, clock_periods=clock_periods,
            dtype=dtype,
        )

    def _encode_targets(self, y, batch, first_call, classes=None, warm_start=False):
        Y = self._step_targets(y, batch).astype(batch.dtype, copy=False)
        if first_call or warm_start:  # partial_fit keeps the first call's output shape
            self._vector_targets = Y.ndim == 3
        return Y, (Y.shape[2] if Y.ndim == 3 else 1)

    def _validation_score(self, Z, targets, weights):
        return r2_score(targets, Z if targets.ndim == 2 else Z[:, 0], sample_weight=weights)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and per-step targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Training sequences.
        y : array-like of shape (n_sequences, n_timesteps) or (n_sequences, n_timesteps, \
                n_outputs), list of arrays of shape (n_timesteps_i,) or (n_timesteps_i, \
                n_outputs), or array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target (value or vector) per time step, in the structure of ``X``; values
            at padded steps of a 3-D ``X`` are ignored.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence; every real step of a sequence carries its weight.

        Returns
        -------
        self : GRUStepRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(has_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run exactly one epoch over ``X``, keeping the optimizer state between calls.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            Per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence.

        Returns
        -------
        self : GRUStepRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _sequence_predictions(self, X):
        """Predictions at every sequence's real steps, one array per sequence, in memory
        bounded by the output (no padded ``(n_timesteps, n_sequences)`` array)."""
        batch = self._validated_batch(X)
        rows = self._step_rows(batch)
        if not self._vector_targets:
            rows = [r[:, 0] for r in rows]
        return rows, batch

    def predict(self, X):
        """Predicted value(s) at every step.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_sequences, n_timesteps[, n_outputs]), list of arrays of \
                shape (n_timesteps_i[, n_outputs]), or ndarray of shape \
                (n_samples[, n_outputs])
            In the structure of ``X``; NaN at padded steps of a 3-D ``X``. The output axis
            is there when ``y`` had one in ``fit``.
        """
        rows, batch = self._sequence_predictions(X)
        return self._to_structure(rows, batch, np.nan)

    def score(self, X, y, sample_weight=None):
        """R² over all real time steps.

        The predictions and targets of every real step are flattened into one sample each
        (padded steps of a 3-D ``X`` are left out); with several outputs, their R² are
        averaged (``multioutput="uniform_average"``).

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            True per-step targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence (applied to each of its steps).

        Returns
        -------
        score : float
        """
        batch = self._validated_batch(X)
        # Real steps sequence after sequence, for targets and predictions alike: nothing of
        # the padded size is built for ragged data.
        Y = self._step_target_rows(y, batch)
        pred = np.concatenate(self._step_rows(batch))
        if Y.ndim == 1:
            pred = pred[:, 0]
        return float(r2_score(Y, pred,
                              sample_weight=self._step_score_weights(sample_weight, batch)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags
