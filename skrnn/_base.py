"""BaseRecurrentNetwork: the hyperparameters and the training loop shared by the trained
estimators (``RNNClassifier``, ``LSTMRegressor``, ``GRUTagger``).

Names and meanings follow ``MLPClassifier``/``MLPRegressor`` wherever the concept exists.
A subclass says how targets are encoded, which loss the linear head uses, and whether the
head reads the top layer's final state (many-to-one) or its output at every real step
(per-step); everything else (mini-batches bucketed by length, Adam/SGD/L-BFGS, early stopping
that restores the best weights, ``partial_fit``, ``warm_start``, clipping, truncation,
dropout, verbose output, Ctrl-C) lives here.
"""

import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._bptt import (
    RecurrentConfig,
    backward,
    clip_grad_norm,
    forward,
    init_params,
    make_dropout_masks,
)
from ._heads import FinalStateHead, StepHead
from ._losses import LOSSES
from ._optimizers import AdamOptimizer, SGDOptimizer
from ._sequences import check_sequences

__all__ = ["BaseRecurrentNetwork", "has_stochastic_solver", "training_parameters_doc"]

_TRAINING_PARAMETERS_DOC = """\
    hidden_layer_sizes : int or tuple of int, default=(32,)
        Width of each stacked recurrent layer (per direction).
    cell : {{"rnn", "lstm", "gru", "clockwork"}}, default="{default_cell}"
        The recurrent cell: Elman RNN, LSTM (gates ``i, f, g, o``), GRU (gates ``r, z, n``)
        or Clockwork RNN (modules updating at their own clock periods).
    activation : {{"tanh", "relu"}}, default="tanh"
        State activation of the ``"rnn"`` cell.
    recurrent_activation : {{"sigmoid", "hard_sigmoid"}}, default="sigmoid"
        Gate activation of LSTM and GRU; ``hard_sigmoid`` is ``clip(0.2 z + 0.5, 0, 1)``.
    reset_after : bool, default=True
        GRU only: reset gate after the recurrent product (PyTorch) or before (Cho et al.).
    bidirectional : bool, default=False
        Run every layer in both directions.
    solver : {{"adam", "sgd", "lbfgs"}}, default="adam"
        Optimizer. ``"lbfgs"`` is full-batch (SciPy's L-BFGS-B) and has no ``partial_fit``.
    alpha : float, default=0.0001
        L2 penalty on the weights (not the biases), scaled as in ``MLPClassifier``.
    batch_size : int or "auto", default="auto"
        Sequences per mini-batch; ``"auto"`` is ``min(200, n_sequences)``. Mini-batches are
        bucketed by length, so ragged data is not padded to the longest sequence.
    learning_rate_init : float, default=0.001
        Step size of Adam and SGD.
    max_iter : int, default=200
        Maximum number of epochs (iterations for ``"lbfgs"``).
    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch counts as no
        improvement.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences {stratified}, stop when the
        validation {early_stopping_score} stops improving, and restore the best weights.
    validation_fraction : float, default=0.1
        Fraction of sequences held out for early stopping.
    shuffle : bool, default=True
        Shuffle the sequences every epoch.
    random_state : int, RandomState instance or None, default=None
        Controls initialisation, shuffling, dropout and the validation split through
        independent streams. Pass an int for identical fits.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, seconds).
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with SGD.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default=1e-8
        Adam's numerical stability term.
    max_fun : int, default=15000
        Maximum loss evaluations for ``"lbfgs"``.
    dropout : float, default=0.0
        Inverted dropout on the input of every layer above the first, during training.
    clip_norm : float or None, default=None
        Clip the gradient's global L2 norm to this value (against exploding gradients).
    bptt_truncate : int or None, default=None
        Truncated BPTT: gradients flow back at most this many steps (windows counted back
        from each sequence's last real step). None: full BPTT.
    clock_periods : tuple of int or None, default=None
        ``cell="clockwork"`` only: the clock periods of its modules, fastest first, each
        dividing the next; every layer width must be divisible by their number. None means
        ``(1, 2, 4, 8)``, the exponential series of Koutník et al. (2014).
    dtype : {{"float32", "float64"}} or None, default=None
        Floating-point type of the weights and of all training and prediction arithmetic;
        ``X`` is converted to it. None follows ``X``: float32 data trains in float32,
        anything else in float64. ``"float32"`` (PyTorch's and Keras' default) trains
        float64 data about twice as fast; it is not the default because scikit-learn's
        ``check_sample_weight_equivalence_on_dense_data`` asks weighted and repeated
        samples to give predictions equal to a relative 1e-7, which float32 rounding
        misses (see the training page). Predictions come in the same type. A
        ``warm_start`` or ``partial_fit`` call continues in the dtype of the weights."""


def training_parameters_doc(default_cell, early_stopping_score, stratified=True):
    """The numpydoc ``Parameters`` entries shared by the trained estimators."""
    return _TRAINING_PARAMETERS_DOC.format(
        default_cell=default_cell, early_stopping_score=early_stopping_score,
        stratified="(stratified by class)" if stratified else "(whole sequences)",
    )


def has_stochastic_solver(est):
    """``available_if`` condition of ``partial_fit``: only Adam and SGD have epochs."""
    if est.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers; "
                             f"{est.solver!r} is not stochastic.")
    return True


#: Sequences per forward pass at prediction time (bounds memory on large inputs).
_PREDICT_CHUNK = 1024


class BaseRecurrentNetwork(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the trained recurrent estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "cell": [StrOptions({"rnn", "lstm", "gru", "clockwork"})],
        "activation": [StrOptions({"tanh", "relu"})],
        "recurrent_activation": [StrOptions({"sigmoid", "hard_sigmoid"})],
        "reset_after": ["boolean"],
        "bidirectional": ["boolean"],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
        "bptt_truncate": [None, Interval(Integral, 1, None, closed="left")],
        "clock_periods": [None, "array-like"],
        "dtype": [None, StrOptions({"float32", "float64"})],
    }

    #: Whether the head reads every real step (True) or the final state (False).
    _per_step = False
    #: Key of skrnn._losses.LOSSES.
    _loss = "squared_error"

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        cell,
        activation,
        recurrent_activation,
        reset_after,
        bidirectional,
        solver,
        alpha,
        batch_size,
        learning_rate_init,
        max_iter,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        shuffle,
        random_state,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        beta_1,
        beta_2,
        epsilon,
        max_fun,
        dropout,
        clip_norm,
        bptt_truncate,
        clock_periods,
        dtype,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.reset_after = reset_after
        self.bidirectional = bidirectional
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_fun = max_fun
        self.dropout = dropout
        self.clip_norm = clip_norm
        self.bptt_truncate = bptt_truncate
        self.clock_periods = clock_periods
        self.dtype = dtype

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _encode_targets(self, y, batch, first_call, classes=None):
        """Validate ``y`` and return ``(targets, n_outputs)``.

        Many-to-one: ``targets`` has shape (n_sequences,) (class indices) or
        (n_sequences, n_outputs). Per-step: (n_timesteps, n_sequences[, n_outputs]).
        """

    @abstractmethod
    def _validation_score(self, Z, targets, weights):
        """Score head outputs ``Z`` (m, n_outputs) against row targets (higher is better)."""

    def _stratify(self, targets):
        """Labels to stratify the early-stopping split by (None: no stratification)."""
        return None

    # ------------------------------------------------------------------ architecture
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) == 0 or any(s < 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a positive integer or a non-empty sequence of "
                f"positive integers; got {self.hidden_layer_sizes!r}."
            )
        return sizes

    def _make_config(self, n_features):
        return RecurrentConfig(
            cell=self.cell,
            input_size=n_features,
            hidden_sizes=self._hidden_sizes(),
            bidirectional=bool(self.bidirectional),
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            reset_after=bool(self.reset_after),
            clock_periods=(None if self.clock_periods is None
                           else tuple(int(p) for p in self.clock_periods)),
        )

    def _streams(self):
        """Independent generators for init, shuffling, dropout and the validation split,
        all derived from ``random_state``."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        init, shuffle, dropout, split = np.random.SeedSequence(seed).spawn(4)
        return {
            "init": np.random.default_rng(init),
            "shuffle": np.random.default_rng(shuffle),
            "dropout": np.random.default_rng(dropout),
            "split": np.random.default_rng(split),
        }

    def _initialize(self, config, n_outputs, dtype):
        rng = self._rngs["init"]
        weights = init_params(config, rng, dtype)
        F = config.output_size
        bound = np.sqrt(6.0 / (F + n_outputs))
        weights["output.weight"] = rng.uniform(-bound, bound, (n_outputs, F)).astype(dtype)
        weights["output.bias"] = np.zeros(n_outputs, dtype=dtype)
        self.weights_ = weights
        self._config = config
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(config.hidden_sizes)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self._optimizer = None

    def _make_optimizer(self):
        params = list(self.weights_.values())
        if self.solver == "sgd":
            return SGDOptimizer(params, self.learning_rate_init, self.momentum,
                                self.nesterovs_momentum)
        return AdamOptimizer(params, self.learning_rate_init, self.beta_1, self.beta_2,
                             self.epsilon)

    # ------------------------------------------------------------------ loss & gradient
    def _output_head(self):
        """The head that reads the core's result: every real step, or the final state."""
        return StepHead() if self._per_step else FinalStateHead()

    def _real_steps(self, lengths, T):
        """Mask of real steps ``(n_timesteps, n_sequences)`` for a per-step head, else
        None (one row per sequence)."""
        if not self._per_step:
            return None
        return np.arange(T)[:, None] < lengths[None, :]

    @staticmethod
    def _row_weights(sw, mask):
        if mask is None:
            return sw
        return np.broadcast_to(sw[None, :], mask.shape)[mask]

    def _loss_grad(self, weights, X, lengths, targets, sw, *, l2_total, dropout_masks=None):
        """Loss and gradients of one batch.

        Parameters
        ----------
        weights : dict of str to ndarray
        X : ndarray of shape (n_timesteps, n_sequences, n_features)
        lengths : ndarray of shape (n_sequences,)
        targets : ndarray
            Many-to-one: (n_sequences[, n_outputs]); per-step: (n_timesteps, n_sequences
            [, n_outputs]).
        sw : ndarray of shape (n_sequences,)
            Sample weights.
        l2_total : float or None
            Denominator of the L2 penalty ``alpha / 2 * ||W||^2 / l2_total`` (None: no
            penalty here).

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
        weight_sum : float
            Sum of row weights (the loss is their weighted mean).
        """
        config = self._config
        res = forward(config, weights, X, lengths, dropout_masks=dropout_masks)
        head = self._output_head()
        mask = self._real_steps(lengths, X.shape[0])
        Y = targets if mask is None else targets[mask]
        w = self._row_weights(sw, mask)
        W_out, b_out = weights["output.weight"], weights["output.bias"]
        Z = head.forward(W_out, b_out, res, mask)
        if Y.ndim == 1 and self._loss == "squared_error":
            Y = Y[:, None]
        loss, dZ = LOSSES[self._loss](Z, Y, w)
        dW_out, db_out, core_grad = head.backward(W_out, dZ, res, mask)
        grads = backward(config, weights, res.cache, bptt_truncate=self.bptt_truncate,
                         **core_grad)
        grads["output.weight"] = dW_out
        grads["output.bias"] = db_out
        if l2_total is not None and self.alpha > 0:
            loss += self._add_l2(weights, grads, l2_total)
        return loss, grads, float(w.sum())

    def _add_l2(self, weights, grads, total):
        """Add ``alpha/2 ||W||^2 / total`` (weights, not biases) to grads; return the loss."""
        penalty = 0.0
        scale = self.alpha / total
        for name, W in weights.items():
            if "weight" in name:
                penalty += float(np.vdot(W, W))
                grads[name] += scale * W
        return 0.5 * scale * penalty

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        first_call = not hasattr(self, "weights_") or not (self.warm_start or incremental)
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError(
                "dropout is not supported with solver='lbfgs' (it makes the objective "
                "random); use solver='adam' or 'sgd', or dropout=0."
            )
        self._hidden_sizes()  # validates
        if self.cell == "clockwork":
            _ = self._make_config(1).periods  # validates clock_periods against the widths
        dtype = None if first_call else self.weights_["output.bias"].dtype
        batch = check_sequences(X, estimator=self, reset=first_call,
                                dtype=self._fit_dtype() if dtype is None else dtype)
        targets, n_outputs = self._encode_targets(y, batch, first_call, classes)
        # One weight per sequence; the batch's axis 1 is the sequence axis.
        sw = _check_sample_weight(sample_weight, batch.X[0], dtype=batch.X.dtype,
                                  ensure_non_negative=True)
        config = self._make_config(batch.n_features)
        if not first_call and (config != self._config or n_outputs != self.n_outputs_):
            if incremental:
                raise ValueError(
                    "The architecture or the number of outputs changed since the previous "
                    "call; partial_fit cannot continue. Call fit instead."
                )
            first_call = True
        if first_call:
            self._rngs = self._streams()
            self._initialize(config, n_outputs, batch.X.dtype)
        elif not hasattr(self, "_rngs"):  # e.g. unpickled: new streams, same weights
            self._rngs = self._streams()
        if self.solver == "lbfgs":
            self._fit_lbfgs(batch, targets, sw)
        else:
            self._fit_stochastic(batch, targets, sw, incremental)
        return self

    def _batches(self, lengths, batch_size, shuffle):
        """Mini-batches of sequence indices, bucketed by length so padding stays small."""
        n = len(lengths)
        rng = self._rngs["shuffle"]
        order = rng.permutation(n) if shuffle else np.arange(n)
        order = order[np.argsort(lengths[order], kind="stable")]
        batches = [order[i: i + batch_size] for i in range(0, n, batch_size)]
        if shuffle:
            batches = [batches[j] for j in rng.permutation(len(batches))]
        return batches

    def _targets_of(self, targets, idx, T):
        if self._per_step:
            return targets[:T, idx]
        return targets[idx]

    def _fit_stochastic(self, batch, targets, sw, incremental):
        early_stopping = self.early_stopping and not incremental
        train_idx = np.arange(batch.n_sequences)
        val = None
        if early_stopping:
            split_seed = int(self._rngs["split"].integers(np.iinfo(np.int32).max))
            strat = self._stratify(targets)
            train_idx, val_idx = train_test_split(
                train_idx, test_size=self.validation_fraction, random_state=split_seed,
                stratify=strat)
            if len(val_idx) < 1 or len(train_idx) < 1:
                raise ValueError(
                    f"early_stopping with validation_fraction={self.validation_fraction} "
                    f"leaves no sequences to train or validate on "
                    f"({batch.n_sequences} sequences)."
                )
            vb = batch.take(val_idx)
            val = (vb, self._targets_of(targets, val_idx, vb.n_timesteps), sw[val_idx])
        n_train = len(train_idx)
        batch_size = min(200, n_train) if self.batch_size == "auto" else self.batch_size
        if self.batch_size != "auto" and batch_size > n_train:
            warnings.warn(
                f"Got batch_size={batch_size} larger than the {n_train} training sequences; "
                "using one batch of all of them.", UserWarning)
            batch_size = n_train
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        lengths = batch.lengths[train_idx]
        max_iter = 1 if incremental else self.max_iter
        names = list(self.weights_)
        params = [self.weights_[k] for k in names]
        if early_stopping and not hasattr(self, "_best_weights"):
            self._best_weights = None
        try:
            for _ in range(max_iter):
                t0 = time.process_time() if self.verbose else 0.0
                total, wsum = 0.0, 0.0
                for b in self._batches(lengths, batch_size, self.shuffle):
                    idx = train_idx[b]
                    sub = batch.take(idx)
                    masks = None
                    if self.dropout > 0:
                        masks = make_dropout_masks(self._config, self._rngs["dropout"],
                                                   sub.n_timesteps, sub.n_sequences,
                                                   self.dropout, sub.X.dtype)
                    swb = sw[idx]
                    loss, grads, rows_w = self._loss_grad(
                        self.weights_, sub.X, sub.lengths,
                        self._targets_of(targets, idx, sub.n_timesteps), swb,
                        l2_total=None, dropout_masks=masks)
                    if self.alpha > 0:
                        loss += self._add_l2(self.weights_, grads, rows_w)
                    norm = clip_grad_norm(grads, self.clip_norm)
                    if not (np.isfinite(loss) and np.isfinite(norm)):
                        self._raise_non_finite(loss)
                    self._optimizer.update_params(params, [grads[k] for k in names])
                    total += loss * rows_w
                    wsum += rows_w
                self.n_iter_ += 1
                self.t_ += n_train
                self.loss_curve_.append(total / wsum)
                stop = self._after_epoch(val, early_stopping, t0)
                if stop:
                    break
            else:
                if not incremental and self.max_iter > 0:
                    warnings.warn(
                        f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn(
                f"Training interrupted (KeyboardInterrupt) after {self.n_iter_} complete "
                "epochs; keeping the weights reached.", UserWarning)
        if early_stopping and self._best_weights is not None:
            for k in names:
                self.weights_[k][...] = self._best_weights[k]

    def _raise_non_finite(self, loss):
        raise ValueError(
            f"The training loss became non-finite ({loss}) at epoch {self.n_iter_ + 1}: "
            "the gradients exploded. Set clip_norm (e.g. clip_norm=1.0), lower "
            "learning_rate_init, or scale the input. The weights from before this step "
            "are kept."
        )

    def _after_epoch(self, val, early_stopping, t0):
        """Record scores, print progress, update the no-improvement count; True = stop."""
        if early_stopping:
            vb, vt, vsw = val
            Z, mask = self._head_outputs(vb)
            Y = vt if mask is None else vt[mask]
            score = self._validation_score(Z, Y, self._row_weights(vsw, mask))
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = {k: v.copy() for k, v in self.weights_.items()}
        else:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last
        if self.verbose:
            msg = f"Iteration {self.n_iter_}, loss = {self.loss_curve_[-1]:.8f}"
            if early_stopping:
                msg += f", validation score = {self.validation_scores_[-1]:.6f}"
            msg += f", {time.process_time() - t0:.2f} s"
            print(msg)
        if self._no_improvement_count > self.n_iter_no_change:
            if self.verbose:
                what = "Validation score" if early_stopping else "Training loss"
                print(f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        return False

    def _fit_lbfgs(self, batch, targets, sw):
        names = list(self.weights_)
        shapes = [self.weights_[k].shape for k in names]
        sizes = [int(np.prod(s)) for s in shapes]
        dtype = self.weights_[names[0]].dtype
        batch_size = batch.n_sequences if self.batch_size == "auto" else self.batch_size
        bucket_idx = [np.asarray(b) for b in self._batches(batch.lengths, max(batch_size, 1),
                                                           False)]
        buckets = [batch.take(b) for b in bucket_idx]

        def unpack(x):
            out, pos = {}, 0
            for k, shape, size in zip(names, shapes, sizes):
                out[k] = x[pos: pos + size].reshape(shape).astype(dtype)
                pos += size
            return out

        def fun(x):
            weights = unpack(x)
            total_loss, total_w = 0.0, 0.0
            acc = {k: np.zeros(s, dtype=np.float64) for k, s in zip(names, shapes)}
            for idx, sub in zip(bucket_idx, buckets):
                loss, grads, rw = self._loss_grad(
                    weights, sub.X, sub.lengths,
                    self._targets_of(targets, idx, sub.n_timesteps), sw[idx], l2_total=None)
                total_loss += loss * rw
                total_w += rw
                for k in names:
                    acc[k] += grads[k] * rw
            loss = total_loss / total_w
            for k in names:
                acc[k] /= total_w
            if self.alpha > 0:
                loss += self._add_l2(weights, acc, total_w)
            flat = np.concatenate([acc[k].ravel() for k in names])
            if not (np.isfinite(loss) and np.all(np.isfinite(flat))):
                self._raise_non_finite(loss)
            return loss, flat

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = "
                      f"{intermediate_result.fun:.8f}")

        x0 = np.concatenate([self.weights_[k].ravel() for k in names]).astype(np.float64)
        try:
            res = scipy.optimize.minimize(
                fun, x0, method="L-BFGS-B", jac=True, callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted (KeyboardInterrupt); the L-BFGS weights are "
                          "those of the start of this fit.", UserWarning)
            return
        self.n_iter_ += _check_optimize_result("lbfgs", res, self.max_iter)
        self.t_ += batch.n_sequences * max(res.nit, 1)
        for k, v in unpack(res.x).items():
            self.weights_[k][...] = v
        self.best_loss_ = float(res.fun)

    # ------------------------------------------------------------------ prediction
    def _head_outputs(self, batch):
        """Head outputs of a validated batch, computed in length-sorted chunks.

        Returns
        -------
        Z : ndarray of shape (n_sequences, n_outputs) or, per-step, (m, n_outputs) rows of
            the real steps in ``mask`` order
        mask : ndarray of bool of shape (n_timesteps, n_sequences) or None
        """
        W_out, b_out = self.weights_["output.weight"], self.weights_["output.bias"]
        head = self._output_head()
        order = np.argsort(batch.lengths, kind="stable")
        if self._per_step:
            out = np.zeros((batch.n_timesteps, batch.n_sequences, W_out.shape[0]),
                           dtype=W_out.dtype)
        else:
            out = np.empty((batch.n_sequences, W_out.shape[0]), dtype=W_out.dtype)
        for start in range(0, batch.n_sequences, _PREDICT_CHUNK):
            idx = order[start: start + _PREDICT_CHUNK]
            sub = batch.take(idx)
            res = forward(self._config, self.weights_, sub.X, sub.lengths, keep_cache=False)
            if self._per_step:
                out[: sub.n_timesteps, idx] = head.predict(W_out, b_out, res)
            else:
                out[idx] = head.predict(W_out, b_out, res)
        if not np.all(np.isfinite(out)):
            raise ValueError(
                "The network's outputs are not finite for this input: its values are too "
                "large for the model (e.g. with activation='relu'). Scale the input, for "
                "example with skrnn.preprocessing.SequenceScaler."
            )
        if self._per_step:
            mask = batch.mask
            return out[mask], mask
        return out, None

    def _fit_dtype(self):
        """The dtype (or accepted dtypes, the first preferred) a new fit converts X to."""
        if self.dtype is None:
            return (np.float64, np.float32)
        return np.dtype(self.dtype)

    def _validated_batch(self, X):
        check_is_fitted(self, "weights_")
        return check_sequences(X, estimator=self, reset=False,
                               dtype=self.weights_["output.bias"].dtype)

    # ------------------------------------------------------------------ weights
    def get_weights(self):
        """The fitted weights under PyTorch's names.

        Returns
        -------
        weights : dict of str to ndarray
            ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
            (and ``..._reverse`` for bidirectional layers) for each layer ``k``, in the
            layout of ``torch.nn.RNN``/``LSTM``/``GRU`` (gates ``i, f, g, o`` for LSTM and
            ``r, z, n`` for GRU), plus ``output.weight`` of shape
            (n_outputs, n_representation) and ``output.bias`` of shape (n_outputs,), the
            linear head of ``torch.nn.Linear``. Copies: changing them changes nothing here.
        """
        check_is_fitted(self, "weights_")
        return {k: v.copy() for k, v in self.weights_.items()}

    def set_weights(self, weights):
        """Set the fitted weights from a dict as returned by :meth:`get_weights`.

        The estimator must be fitted (the architecture comes from the fit); every name must
        be present with the same shape.

        Parameters
        ----------
        weights : dict of str to array-like

        Returns
        -------
        self : object
        """
        check_is_fitted(self, "weights_")
        missing = set(self.weights_) - set(weights)
        extra = set(weights) - set(self.weights_)
        if missing or extra:
            raise ValueError(f"Weight names do not match: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}.")
        new = {}
        for k, cur in self.weights_.items():
            a = np.asarray(weights[k], dtype=cur.dtype)
            if a.shape != cur.shape:
                raise ValueError(f"{k} has shape {a.shape}; expected {cur.shape}.")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{k} contains NaN or infinity.")
            new[k] = a.copy()
        self.weights_ = new
        self._optimizer = None
        return self
