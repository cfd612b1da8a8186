"""LSTMRegressor: one value (or vector of values) per sequence (many-to-one regression)."""

from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from ._base import BaseRecurrentNetwork, has_stochastic_solver, training_parameters_doc

__all__ = ["LSTMRegressor"]


class LSTMRegressor(RegressorMixin, BaseRecurrentNetwork):
    __doc__ = """Recurrent neural network regressor: one value (or vector) per sequence.

    A stack of recurrent layers (LSTM by default) reads each sequence; the top layer's state
    at the sequence's last real step (for ``bidirectional=True``, the forward state followed
    by the backward direction's state at the first step) feeds a linear output layer.
    Trained by backpropagation through time on the squared error, with scikit-learn
    ``MLPRegressor``'s names and meanings.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
    weights_ : dict of str to ndarray
        Fitted weights under PyTorch's names; see :meth:`get_weights`.
    loss_curve_ : list of float
        Training loss (half mean squared error plus penalty) after each epoch.
    best_loss_ : float or None
        Lowest training loss of the latest fit (None with early stopping).
    validation_scores_ : list of float or None
        Validation R² after each epoch (early stopping only).
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
        Number of outputs.
    n_layers_ : int
        Number of recurrent layers.
    n_features_in_ : int
        Features per time step seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    RNNClassifier : The same network with a classification head.
    EchoStateRegressor : Per-step regression with a fixed reservoir and a ridge readout.
    sklearn.neural_network.MLPRegressor : The feed-forward model whose API this follows.

    Notes
    -----
    ``X`` may be a 3-D array ``(n_sequences, n_timesteps, n_features)`` (trailing all-NaN
    steps are padding), a list of 2-D arrays ``(n_timesteps_i, n_features)``, or a 2-D array
    ``(n_samples, n_features)`` read as length-1 sequences. A batch of univariate series
    ``(n_sequences, n_timesteps)`` must be passed as ``X[:, :, None]``. Targets are not
    rescaled: like ``MLPRegressor``, it learns best when ``y`` is roughly standardised.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import LSTMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(100, 5, 1))
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """.format(parameters=training_parameters_doc(default_cell="lstm",
                                                 early_stopping_score="R²", stratified=False))

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        cell="lstm",
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
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = check_array(y, ensure_2d=False, dtype=batch.dtype, input_name="y")
        if y.ndim not in (1, 2):
            raise ValueError(f"y must have shape (n_sequences,) or (n_sequences, n_outputs); "
                             f"got {y.ndim} dimensions.")
        if y.shape[0] != batch.n_sequences:
            raise ValueError(f"X has {batch.n_sequences} sequences but y has {y.shape[0]} "
                             "targets; they must match.")
        if first_call or warm_start:  # a fit sets the output shape; partial_fit keeps it
            self._y_ndim = y.ndim
        Y = y if y.ndim == 2 else y[:, None]
        return Y, Y.shape[1]

    def _validation_score(self, Z, targets, weights):
        return r2_score(targets, Z, sample_weight=weights)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Training sequences.
        y : array-like of shape (n_sequences,) or (n_sequences, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence in the loss.

        Returns
        -------
        self : LSTMRegressor
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
        y : array-like of shape (n_sequences,) or (n_sequences, n_outputs)
        sample_weight : array-like of shape (n_sequences,), default=None

        Returns
        -------
        self : LSTMRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predicted value(s) of each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_sequences,) or (n_sequences, n_outputs)
            1-D when ``y`` was 1-D in ``fit``.
        """
        Z = self._head_outputs(self._validated_batch(X))
        return Z[:, 0] if self._y_ndim == 1 else Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags
