"""Seq2SeqRegressor: an encoder reads a sequence, a decoder emits ``H`` steps (multi-step
forecasting).

The encoder is the recurrent stack of every trained estimator (its weights under the usual
names); the decoder (:mod:`skrnn._decoder`) is a second stack under ``"decoder."`` with a
linear head ``output.*`` at each of its steps. Training, solvers, early stopping, sample
weights and ``partial_fit`` are :class:`~skrnn._base.BaseRecurrentNetwork`'s: this module
overrides only the loss and gradient of a batch (:meth:`Seq2SeqRegressor._loss_grad`), the
initialisation (two parameter sets) and the prediction path (autoregressive decoding).
A training row is one sequence with all ``H * n_outputs`` target values.
"""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from ._base import BaseRecurrentNetwork, has_stochastic_solver, training_parameters_doc
from ._bptt import backward, forward, init_params, make_dropout_masks
from ._decoder import (
    DECODER_PREFIX,
    bridge_states,
    decode,
    decoder_config,
    decoder_params,
    rows_to_steps,
    sampled_inputs,
    split_state_grads,
    steps_to_rows,
    teacher_inputs,
)
from ._heads import StepHead
from ._losses import squared_error
from ._sequences import length_chunks

__all__ = ["Seq2SeqRegressor"]


class Seq2SeqRegressor(RegressorMixin, BaseRecurrentNetwork):
    __doc__ = """Encoder-decoder recurrent regressor: a sequence in, ``H`` future steps out.

    An encoder (a stack of recurrent layers, LSTM by default, optionally bidirectional)
    reads each input sequence. A decoder, a unidirectional stack of the same cell whose
    layer ``k`` is as wide as the encoder's layer ``k`` output (``2 * h_k`` for a
    bidirectional encoder), starts from the encoder's final states (per layer; the forward
    and backward states concatenated) and runs ``H`` steps; a linear layer reads every
    decoder step. The decoder's input at step 0 is zero and at step ``k`` the value of step
    ``k - 1``: the true target in training (teacher forcing; with probability
    ``teacher_forcing_ratio``, see below) and its own prediction in :meth:`predict`
    (autoregressive). The horizon ``H`` is learned from ``y`` and fixed per fit
    (``horizon_``). Trained on the squared error over all ``H * n_outputs`` values, with
    ``MLPRegressor``'s names and meanings; every training parameter of
    :class:`LSTMRegressor` works the same way.

    Parameters
    ----------
    teacher_forcing_ratio : float in [0, 1], default=1.0
        Probability, at each decoder step after the first and for each sequence, that the
        decoder reads the true previous target in training; otherwise it reads its own
        prediction of that step (scheduled sampling, Bengio et al., 2015). ``1.0`` is
        pure teacher forcing. A fed-back prediction is treated as a constant: no gradient
        flows through it. The ratio is constant over a fit; to decay it as Bengio et al.
        do, lower it between ``warm_start`` fits or ``partial_fit`` calls. Values below 1
        need a stochastic solver (they make the objective random).
{parameters}

    Attributes
    ----------
    horizon_ : int
        ``H``: decoder steps, learned from ``y`` (1 for a 1-D ``y``).
    weights_ : dict of str to ndarray
        Fitted weights: the encoder's under PyTorch's names (see :meth:`get_weights`), the
        decoder's under ``"decoder."`` plus the same names (a unidirectional stack with
        input size ``n_outputs_``), and the head ``output.weight``, ``output.bias``.
    loss_curve_ : list of float
        Training loss (half mean squared error over all horizons and outputs, plus
        penalty) after each epoch.
    best_loss_ : float or None
        Lowest training loss of the latest fit (None with early stopping).
    validation_scores_ : list of float or None
        Validation R² of the autoregressive predictions after each epoch (early stopping
        only).
    best_validation_score_ : float or None
        Best validation R² (early stopping only).
    n_iter_ : int
        Epochs of the latest call (``partial_fit``: 1).
    loss_ : float
        Training loss of the last epoch (penalty included).
    t_ : int
        Training sequences seen.
    n_outputs_ : int
        Values per decoder step (1 unless ``y`` is 3-D).
    n_layers_ : int
        Number of recurrent layers of the encoder (and of the decoder).
    n_features_in_ : int
        Features per time step seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    LSTMRegressor : Many-to-one regression; with ``H`` output columns it forecasts all
        horizons at once from the final state (direct multi-step forecasting).
    skrnn.preprocessing.make_windows : Windows of a series and the ``H`` values after
        each (``horizon=range(1, H + 1)``).

    Notes
    -----
    ``X`` takes every form of the other estimators: a 3-D array ``(n_sequences,
    n_timesteps, n_features)`` (trailing all-NaN steps are padding), a list of 2-D arrays
    (ragged), or a 2-D array ``(n_samples, n_features)`` read as length-1 sequences.
    ``y`` is ``(n_sequences, H)`` (one series, ``H`` steps), ``(n_sequences, H,
    n_outputs)`` (several values per step; each step's prediction is fed back whole), or
    1-D, read as ``H = 1``; :meth:`predict` returns the same shape. Every sequence of a fit
    has the same ``H``; variable-length target sequences are not supported. Targets are not
    rescaled, and the decoder reads them as inputs: standardise the series (with statistics
    of the training period) before cutting windows.

    With ``cell="clockwork"`` the decoder's modules tick by the decoder's own step number
    (the first forecast step is step 0), in training and in prediction alike. ``bptt_truncate``
    truncates the encoder's backward pass only; the decoder's ``H`` steps are always
    back-propagated in full. ``dropout`` applies between the layers of both stacks.
    ``score`` is R² over all horizons and outputs (uniform average of the columns of
    ``y.reshape(n_sequences, -1)``).

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import Seq2SeqRegressor
    >>> from skrnn.preprocessing import make_windows
    >>> series = np.sin(0.3 * np.arange(400))
    >>> X, y = make_windows(series, window=20, horizon=range(1, 6))
    >>> X.shape, y.shape
    ((376, 20, 1), (376, 5))
    >>> reg = Seq2SeqRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                        max_iter=30, random_state=0).fit(X[:300], y[:300])
    >>> reg.predict(X[300:]).shape
    (76, 5)
    >>> reg.score(X[300:], y[300:]) > 0.9
    True
    """.format(parameters=training_parameters_doc(default_cell="lstm",
                                                 early_stopping_score="R²", stratified=False))

    _parameter_constraints: dict = {
        **BaseRecurrentNetwork._parameter_constraints,
        "teacher_forcing_ratio": [Interval(Real, 0, 1, closed="both")],
    }
    _STREAMS = BaseRecurrentNetwork._STREAMS + ("sampling",)

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        cell="lstm",
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        bidirectional=False,
        init="auto",
        teacher_forcing_ratio=1.0,
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
        self.teacher_forcing_ratio = teacher_forcing_ratio

    # ------------------------------------------------------------------ targets
    def _encode_targets(self, y, batch, first_call, classes=None, warm_start=False):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=batch.dtype,
                        input_name="y")
        if y.ndim not in (1, 2, 3):
            raise ValueError("y must have shape (n_sequences,), (n_sequences, H) or "
                             f"(n_sequences, H, n_outputs); got {y.ndim} dimensions.")
        if y.shape[0] != batch.n_sequences:
            raise ValueError(f"X has {batch.n_sequences} sequences but y has {y.shape[0]} "
                             "target sequences; they must match.")
        Y = y.reshape(y.shape[0], 1, 1) if y.ndim == 1 else y
        Y = Y[:, :, None] if Y.ndim == 2 else Y
        _, H, m = Y.shape
        if H < 1 or m < 1:
            raise ValueError(f"y of shape {y.shape} has no target values; the horizon and "
                             "the outputs per step must be at least 1.")
        incremental = not first_call and not warm_start
        if incremental and H != self.horizon_:
            raise ValueError(
                f"y has horizon H={H}, but the model was fitted with H={self.horizon_}; "
                "partial_fit cannot change the horizon (it is fixed per fit). Call fit.")
        if not incremental:
            # A warm-started fit may change H: the weights do not depend on it.
            self.horizon_ = H
            self._y_ndim = y.ndim
        return Y.reshape(Y.shape[0], H * m), m

    def _validation_score(self, Z, targets, weights):
        return r2_score(targets, Z, sample_weight=weights)

    # ------------------------------------------------------------------ architecture
    @property
    def _decoder_config(self):
        return decoder_config(self._config, self.n_outputs_)

    def _initialize(self, config, n_outputs, dtype):
        super()._initialize(config, n_outputs, dtype)  # encoder and head
        # The head reads the decoder's top layer, as wide as the encoder's output.
        head = {k: self.weights_.pop(k) for k in ("output.weight", "output.bias")}
        dec = init_params(self._decoder_config, self._rngs["init"], dtype, init=self._init_scheme())
        self.weights_.update({DECODER_PREFIX + k: v for k, v in dec.items()})
        self.weights_.update(head)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        if self.solver == "lbfgs" and self.teacher_forcing_ratio < 1:
            raise ValueError(
                "teacher_forcing_ratio < 1 (scheduled sampling) is not supported with "
                "solver='lbfgs' (it makes the objective random); use solver='adam' or "
                "'sgd', or teacher_forcing_ratio=1.0.")
        return super()._fit(X, y, sample_weight=sample_weight, incremental=incremental,
                            classes=classes)

    # ------------------------------------------------------------------ loss & gradient
    def _loss_grad(self, weights, X, lengths, targets, sw, *, dropout_masks=None):
        """Loss and gradients of one batch, without the L2 penalty.

        The encoder runs over ``X``; the decoder from its final states over the
        teacher-forced (or scheduled-sampling) inputs; the head reads every decoder step.
        Backward: head, decoder (with the gradients of its initial states), then the
        encoder from those gradients at its final states.

        Parameters
        ----------
        weights : dict of str to ndarray
        X : ndarray of shape (n_timesteps, n_sequences, n_features)
        lengths : ndarray of shape (n_sequences,)
        targets : ndarray of shape (n_sequences, H * n_outputs)
            Horizon-major rows.
        sw : ndarray of shape (n_sequences,)
        dropout_masks : list of ndarray or None
            The encoder's.

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
        weight_sum : float
        """
        enc_cfg, dec_cfg = self._config, self._decoder_config
        n, H, m = X.shape[1], self.horizon_, self.n_outputs_
        enc = forward(enc_cfg, weights, X, lengths, dropout_masks=dropout_masks)
        h0 = bridge_states(enc_cfg, enc.h_n)
        c0 = bridge_states(enc_cfg, enc.c_n)
        dec_params = decoder_params(weights)
        W, b = weights["output.weight"], weights["output.bias"]
        Y = targets.reshape(n, H, m)
        dec_masks = None
        if self.dropout > 0:  # only the stochastic solvers come here with dropout
            dec_masks = make_dropout_masks(dec_cfg, self._rngs["dropout"], H, n,
                                           self.dropout, X.dtype)
        if self.teacher_forcing_ratio < 1 and H > 1:
            inputs = sampled_inputs(dec_cfg, dec_params, W, b, h0, c0, Y,
                                    self.teacher_forcing_ratio, self._rngs["sampling"],
                                    dec_masks)
        else:
            inputs = teacher_inputs(Y)
        dec = forward(dec_cfg, dec_params, inputs, np.full(n, H, dtype=np.intp), h0=h0,
                      c0=c0, dropout_masks=dec_masks)
        head, every_step = StepHead(), np.ones((H, n), dtype=bool)
        Z = steps_to_rows(head.forward(W, b, dec, every_step), n, H)
        loss, dZ = squared_error(Z, targets, sw)
        dW, db, core_grad = head.backward(W, rows_to_steps(dZ, n, H), dec, every_step)
        dec_grads, d_h0, d_c0 = backward(dec_cfg, dec_params, dec.cache,
                                         need_state_grad=True, **core_grad)
        grads = backward(enc_cfg, weights, enc.cache, bptt_truncate=self.bptt_truncate,
                         d_h_n=split_state_grads(enc_cfg, d_h0),
                         d_c_n=split_state_grads(enc_cfg, d_c0))
        grads.update({DECODER_PREFIX + k: v for k, v in dec_grads.items()})
        grads["output.weight"] = dW
        grads["output.bias"] = db
        return loss, {k: grads[k] for k in weights}, float(sw.sum())

    # ------------------------------------------------------------------ prediction
    def _head_outputs(self, batch, check_finite=True):
        """Autoregressive predictions of a validated batch, in length-sorted chunks.

        Per chunk: the encoder, then one batched decoder step per horizon step.

        Returns
        -------
        Z : ndarray of shape (n_sequences, H * n_outputs)
            Horizon-major rows, as the training targets.
        """
        enc_cfg, dec_cfg = self._config, self._decoder_config
        dec_params = decoder_params(self.weights_)
        W, b = self.weights_["output.weight"], self.weights_["output.bias"]
        H, m = self.horizon_, self.n_outputs_
        out = np.empty((batch.n_sequences, H * m), dtype=W.dtype)
        for idx in length_chunks(batch.lengths):  # bounded padding per forward pass
            sub = batch.take(idx)
            enc = forward(enc_cfg, self.weights_, sub.X, sub.lengths, keep_cache=False)
            Y = decode(dec_cfg, dec_params, W, b, bridge_states(enc_cfg, enc.h_n),
                       bridge_states(enc_cfg, enc.c_n), H)
            out[idx] = Y.reshape(len(idx), H * m)
        if check_finite and not np.all(np.isfinite(out)):
            raise ValueError(self._NON_FINITE_OUTPUT)
        return out

    def _shaped(self, Z):
        """Rows ``(n, H * n_outputs)`` in the shape of the ``y`` of ``fit``."""
        if self._y_ndim == 1:
            return Z[:, 0]
        if self._y_ndim == 2:
            return Z
        return Z.reshape(Z.shape[0], self.horizon_, self.n_outputs_)

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the encoder-decoder to sequences ``X`` and the ``H`` steps ``y`` after each.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Input sequences.
        y : array-like of shape (n_sequences,), (n_sequences, H) or \
                (n_sequences, H, n_outputs)
            The target sequences, all of length ``H`` (1 for a 1-D ``y``).
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence in the loss.

        Returns
        -------
        self : Seq2SeqRegressor
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
        y : array-like of shape (n_sequences,), (n_sequences, H) or \
                (n_sequences, H, n_outputs)
            The same ``H`` and ``n_outputs`` as the first call.
        sample_weight : array-like of shape (n_sequences,), default=None

        Returns
        -------
        self : Seq2SeqRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Forecast the ``H`` steps after each sequence, autoregressively.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_sequences,), (n_sequences, H) or \
                (n_sequences, H, n_outputs)
            The shape of the ``y`` of ``fit``.
        """
        return self._shaped(self._head_outputs(self._validated_batch(X)))

    def score(self, X, y, sample_weight=None):
        """R² of the predictions over all horizons and outputs.

        The uniform average of the R² of each column of ``y.reshape(n_sequences, -1)``
        (every horizon step and output), as ``r2_score``'s default.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        y : array-like of shape (n_sequences,), (n_sequences, H) or \
                (n_sequences, H, n_outputs)
        sample_weight : array-like of shape (n_sequences,), default=None

        Returns
        -------
        score : float
        """
        pred = self.predict(X)
        y = check_array(y, ensure_2d=False, allow_nd=True, input_name="y")
        if y.shape != pred.shape and y.size != pred.size:
            raise ValueError(f"y has shape {y.shape}; the predictions have shape "
                             f"{pred.shape}.")
        n = pred.shape[0]
        return float(r2_score(y.reshape(n, -1), pred.reshape(n, -1),
                              sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags
