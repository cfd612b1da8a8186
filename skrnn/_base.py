"""BaseRecurrentNetwork: the hyperparameters and the training loop shared by the trained
estimators (``RNNClassifier``, ``LSTMRegressor``, ``GRUTagger``, ``GRUStepRegressor``), and
PerStepMixin, what the two per-step estimators share on top of it.

Names and meanings follow ``MLPClassifier``/``MLPRegressor`` wherever the concept exists.
A subclass says how targets are encoded, which loss the linear head uses, and whether the
head reads the top layer's final state (many-to-one) or its output at every real step
(per-step); everything else (mini-batches bucketed by length, Adam/SGD/L-BFGS, early stopping
that restores the best weights, ``partial_fit``, ``warm_start``, clipping, truncation,
dropout, verbose output, Ctrl-C) lives here.
"""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ._bptt import (
    RecurrentConfig,
    backward,
    clip_grad_norm,
    forward,
    init_params,
    make_dropout_masks,
)
from ._heads import FinalStateHead, StepHead
from ._losses import LOSSES, trivial_loss
from ._optimizers import LR_SCHEDULES, AdamOptimizer, SGDOptimizer
from ._params import PositiveInt, check_positive_ints
from ._sequences import (
    check_sequences,
    check_step_targets,
    length_chunks,
    rows_to_structure,
    step_target_rows,
)
from ._training import TrainingSet, check_outcome, run_epochs

__all__ = ["BaseRecurrentNetwork", "PerStepMixin", "has_stochastic_solver",
           "training_parameters_doc"]

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
    init : {{"auto", "orthogonal", "uniform"}}, default="auto"
        Weight initialisation. ``"orthogonal"``: Glorot-uniform input weights, orthogonal
        recurrent blocks, zero biases (LSTM forget-gate bias 1), Glorot-uniform head.
        ``"uniform"``: PyTorch's default, every weight and bias of a recurrent layer from
        ``U(-1/sqrt(hidden), 1/sqrt(hidden))`` and the head as ``torch.nn.Linear``.
        ``"auto"``: ``"uniform"`` for an LSTM regressor (``cell="lstm"`` in
        ``LSTMRegressor``, ``GRUStepRegressor``, ``Seq2SeqRegressor``), ``"orthogonal"``
        otherwise: the better start of each on the real data sets of the user guide
        ("Choosing an initialisation").
    solver : {{"adam", "sgd", "lbfgs"}}, default="adam"
        Optimizer. ``"lbfgs"`` is full-batch (SciPy's L-BFGS-B) and has no ``partial_fit``.
    alpha : float, default=0.0001
        L2 penalty on the weights (not the biases), scaled as in ``MLPClassifier``.
    batch_size : int or "auto", default="auto"
        Sequences per mini-batch; ``"auto"`` is ``min(32, n_sequences)`` (``MLPClassifier``
        uses 200; recurrent networks learn better from more, smaller steps). Mini-batches are
        bucketed by length, so ragged data is not padded to the longest sequence.
    learning_rate : {{"constant", "invscaling", "adaptive"}}, default="constant"
        Step-size schedule of Adam and SGD, as ``MLPClassifier``'s (which applies it to SGD
        only). ``"constant"``: ``learning_rate_init`` throughout. ``"invscaling"``:
        ``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the training
        sequences seen. ``"adaptive"``: each time the stopping rule fires, divide the step
        size by 5 and go on, stopping only when it falls below 1e-6.
    learning_rate_init : float, default=0.001
        Initial step size of Adam and SGD.
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=200
        Maximum number of epochs (iterations for ``"lbfgs"``).
    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch counts as no
        improvement.
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement before stopping (``np.inf``: never stop early). The rule
        only applies once the training loss has fallen to half a trivial model's loss: a
        recurrent network's long initial plateau never stops training (see the user guide,
        "When training stops").
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences {stratified}, stop when the
        validation {early_stopping_score} stops improving, and restore the best weights.
    validation_fraction : float, default=0.1
        Fraction of sequences held out for early stopping (at least 2 sequences).
    validation_split : {{"random", "tail"}}, default="random"
        How early stopping chooses its validation sequences. ``"random"``: a random subset
        {stratified}. ``"tail"``: the last ``validation_fraction`` of the sequences in the
        order given, for data in time order such as the overlapping windows of
        :func:`skrnn.preprocessing.make_windows`, where a random split leaks the future into
        validation.
    shuffle : bool, default=True
        Shuffle the sequences every epoch.
    random_state : int, RandomState instance or None, default=None
        Controls initialisation, shuffling, dropout and the validation split through
        independent streams. Pass an int for identical fits.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, seconds).
    warm_start : bool, default=False
        ``fit`` continues from the previous fit's weights (and appends to ``loss_curve_``);
        the optimizer and the stopping rule start afresh, as in ``MLPClassifier``.
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

_CLASS_WEIGHT_DOC = """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying ``sample_weight`` (as in scikit-learn's linear
        classifiers). ``"balanced"`` gives class ``k`` the weight
        ``n_rows / (n_classes * n_rows_k)``, rows being {rows}; a dict maps class labels to
        weights (classes it leaves out weigh 1). ``partial_fit`` refuses ``"balanced"``."""


def training_parameters_doc(default_cell, early_stopping_score, stratified=True,
                            class_weight_rows=None):
    """The numpydoc ``Parameters`` entries shared by the trained estimators.

    ``class_weight_rows``: what a row is for ``class_weight`` ("sequences", "real time
    steps"), or None for an estimator without ``class_weight``.
    """
    doc = _TRAINING_PARAMETERS_DOC.format(
        default_cell=default_cell, early_stopping_score=early_stopping_score,
        stratified="(stratified by class)" if stratified else "(whole sequences)",
    )
    if class_weight_rows is not None:
        doc += _CLASS_WEIGHT_DOC.format(rows=class_weight_rows)
    return doc


def has_stochastic_solver(est):
    """``available_if`` condition of ``partial_fit``: only Adam and SGD have epochs."""
    if est.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers; "
                             f"{est.solver!r} is not stochastic.")
    return True


#: ``batch_size="auto"``: recurrent networks learn from many small steps (MLPClassifier's
#: 200 leaves digits read row by row below 0.97 at max_iter; see docs/fitting.rst).
_AUTO_BATCH_SIZE = 32


class BaseRecurrentNetwork(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the trained recurrent estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", PositiveInt()],
        "cell": [StrOptions({"rnn", "lstm", "gru", "clockwork"})],
        "activation": [StrOptions({"tanh", "relu"})],
        "recurrent_activation": [StrOptions({"sigmoid", "hard_sigmoid"})],
        "reset_after": ["boolean"],
        "bidirectional": ["boolean"],
        "init": [StrOptions({"auto", "orthogonal", "uniform"})],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), PositiveInt()],
        "learning_rate": [StrOptions(set(LR_SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_split": [StrOptions({"random", "tail"})],
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
    #: Names of the random streams of :meth:`_streams`, in spawn order (append only).
    _STREAMS = ("init", "shuffle", "dropout", "split")

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        cell,
        activation,
        recurrent_activation,
        reset_after,
        bidirectional,
        init,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        validation_split,
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
        self.init = init
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
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
    def _encode_targets(self, y, batch, first_call, classes=None, warm_start=False):
        """Validate ``y`` and return ``(targets, n_outputs)``.

        ``warm_start``: a warm-started ``fit`` (classifiers require the previous classes).

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
        return check_positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _make_config(self, n_features):
        periods = self.clock_periods
        if periods is not None:
            if self.cell != "clockwork":
                raise ValueError(
                    f"clock_periods applies only to cell='clockwork'; got cell={self.cell!r} "
                    f"with clock_periods={periods!r}. Leave clock_periods=None for other "
                    "cells.")
            periods = check_positive_ints(periods, "clock_periods", allow_scalar=False)
        return RecurrentConfig(
            cell=self.cell,
            input_size=n_features,
            hidden_sizes=self._hidden_sizes(),
            bidirectional=bool(self.bidirectional),
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            reset_after=bool(self.reset_after),
            clock_periods=periods,
        )

    def _streams(self):
        """Independent generators for init, shuffling, dropout and the validation split,
        all derived from ``random_state``."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        children = np.random.SeedSequence(seed).spawn(len(self._STREAMS))
        # Spawned children depend only on their index: a subclass that appends a stream
        # leaves the others unchanged.
        return {name: np.random.default_rng(c) for name, c in zip(self._STREAMS, children)}

    def _init_scheme(self):
        """The initialisation ``init`` stands for: ``"auto"`` resolved by the cell."""
        if self.init != "auto":
            return self.init
        # Measured on small real data sets (the user guide's "Choosing an initialisation"):
        # an LSTM regressor generalises much better from PyTorch's uniform start; LSTM
        # classifiers and the other cells do as well or better from the orthogonal one.
        return "uniform" if self.cell == "lstm" and is_regressor(self) else "orthogonal"

    def _initialize(self, config, n_outputs, dtype):
        rng = self._rngs["init"]
        scheme = self._init_scheme()
        weights = init_params(config, rng, dtype, init=scheme)
        F = config.output_size
        if scheme == "uniform":  # torch.nn.Linear's default: U(-1/sqrt(F), 1/sqrt(F))
            bound = 1.0 / np.sqrt(F)
            weights["output.weight"] = rng.uniform(-bound, bound, (n_outputs, F)).astype(dtype)
            weights["output.bias"] = rng.uniform(-bound, bound, n_outputs).astype(dtype)
        else:  # Glorot-uniform, zero bias
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
        self.validation_scores_ = [] if self.early_stopping else None
        self._optimizer = None

    def _make_optimizer(self):
        params = list(self.weights_.values())
        if self.solver == "sgd":
            return SGDOptimizer(params, self.learning_rate_init, self.momentum,
                                self.nesterovs_momentum, lr_schedule=self.learning_rate,
                                power_t=self.power_t)
        return AdamOptimizer(params, self.learning_rate_init, self.beta_1, self.beta_2,
                             self.epsilon, lr_schedule=self.learning_rate,
                             power_t=self.power_t)

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
        """Row weights: per sequence (n_sequences,), or per step (n_timesteps,
        n_sequences) / per sequence broadcast, selected by the real-step ``mask``."""
        if mask is None:
            return sw
        if sw.ndim == 2:
            return sw[mask]
        return np.broadcast_to(sw[None, :], mask.shape)[mask]

    def _loss_grad(self, weights, X, lengths, targets, sw, *, dropout_masks=None):
        """Loss and gradients of one batch, without the L2 penalty.

        Parameters
        ----------
        weights : dict of str to ndarray
        X : ndarray of shape (n_timesteps, n_sequences, n_features)
        lengths : ndarray of shape (n_sequences,)
        targets : ndarray
            Many-to-one: (n_sequences[, n_outputs]); per-step: (n_timesteps, n_sequences
            [, n_outputs]).
        sw : ndarray of shape (n_sequences,) or, per step, (n_timesteps, n_sequences)
            Row weights (zero on padding).
        dropout_masks : list of ndarray or None

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
        """Validate, (re)initialise what this call starts afresh, and train.

        ``fit`` starts clean: new weights, optimizer, history and stopping state, unless
        ``warm_start``, which keeps the weights and the history (``loss_curve_``, ``t_``) and
        rebuilds the optimizer and the stopping state. ``partial_fit`` keeps everything and
        runs one epoch.
        """
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True; set "
                             "early_stopping=False or call fit.")
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError(
                "dropout is not supported with solver='lbfgs' (it makes the objective "
                "random); use solver='adam' or 'sgd', or dropout=0."
            )
        self._hidden_sizes()  # validates
        if self.cell == "clockwork":
            _ = self._make_config(1).periods  # validates clock_periods against the widths
        fitted = hasattr(self, "weights_")
        first_call = not fitted or not (self.warm_start or incremental)
        dtype = None if first_call else self.weights_["output.bias"].dtype
        batch = check_sequences(X, estimator=self, reset=first_call,
                                dtype=self._fit_dtype() if dtype is None else dtype)
        targets, n_outputs = self._encode_targets(
            y, batch, first_call, classes, warm_start=not first_call and not incremental)
        config = self._make_config(batch.n_features)
        if not first_call and (config != self._config or n_outputs != self.n_outputs_):
            if incremental:
                raise ValueError(
                    "The architecture or the number of outputs changed since the previous "
                    "call; partial_fit cannot continue. Call fit instead."
                )
            warnings.warn(
                "warm_start=True, but the architecture (hidden_layer_sizes, cell, "
                "bidirectional, ...) or the number of outputs changed since the previous "
                "fit: the weights cannot be reused, so this fit starts from new weights.",
                UserWarning)
            first_call = True
        weights = self._target_weights(sample_weight, targets, batch, incremental)
        if first_call:
            self._rngs = self._streams()
            self._initialize(config, n_outputs, batch.dtype)
        elif not hasattr(self, "_rngs"):  # e.g. unpickled: new streams, same weights
            self._rngs = self._streams()
        data = TrainingSet(batch, targets, weights, self._per_step)
        if self.solver == "lbfgs":
            self._fit_lbfgs(data)
        else:
            self._fit_stochastic(data, incremental)
        return self

    def _target_weights(self, sample_weight, targets, batch, incremental):
        """Row weights in the targets' leading layout: sample weights times class weights.

        Returns
        -------
        weights : ndarray of shape (n_sequences,) or, per step, (n_timesteps, n_sequences)
            with zeros on padding.
        """
        # One weight per sequence (lengths has one entry per sequence).
        sw = _check_sample_weight(sample_weight, batch.lengths, dtype=batch.dtype,
                                  ensure_non_negative=True)
        if self._per_step:
            sw = np.where(batch.mask, sw[None, :], 0).astype(batch.dtype, copy=False)
        class_weights = self._class_weights(targets, batch, incremental)
        if class_weights is not None:
            sw = sw * class_weights.astype(sw.dtype)[targets]
        if not sw.sum() > 0:
            raise ValueError("The sample weights (times class_weight) sum to zero: there is "
                             "nothing to fit. Give at least one sequence a positive weight.")
        return sw

    def _class_weights(self, targets, batch, incremental):
        """Weight of each class index (ndarray of shape (n_classes,)), or None."""
        return None

    def _split_validation(self, data):
        """Training and validation sequence indices of ``early_stopping``."""
        n = data.batch.n_sequences
        idx = np.arange(n)
        if self.validation_split == "tail":
            n_val = int(np.ceil(self.validation_fraction * n))
            train_idx, val_idx = idx[: n - n_val], idx[n - n_val:]
        else:
            split_seed = int(self._rngs["split"].integers(np.iinfo(np.int32).max))
            try:
                train_idx, val_idx = train_test_split(
                    idx, test_size=self.validation_fraction, random_state=split_seed,
                    stratify=self._stratify(data.targets))
            except ValueError as exc:
                raise ValueError(
                    f"early_stopping could not split {n} sequences with validation_fraction="
                    f"{self.validation_fraction}: {exc} Increase validation_fraction, pass "
                    "more sequences, or set early_stopping=False.") from exc
        if len(val_idx) < 2 or len(train_idx) < 1:
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} of {n} sequences leaves {len(val_idx)} for "
                f"validation and {len(train_idx)} for training (early stopping needs at "
                "least 2 and 1). Increase validation_fraction or the size of your dataset, "
                "or set early_stopping=False.")
        vb = data.batch.take(val_idx)
        vt, vw = data.subset(val_idx, vb.n_timesteps)
        if not vw.sum() > 0:
            raise ValueError("Every validation sequence has zero sample weight: the "
                             "validation score is undefined. Set early_stopping=False or "
                             "change the weights.")
        return train_idx, (vb, vt, vw)

    def _fit_stochastic(self, data, incremental):
        early_stopping = self.early_stopping  # never with incremental (checked in _fit)
        train_idx, validation = np.arange(data.batch.n_sequences), None
        if early_stopping:
            train_idx, validation = self._split_validation(data)
        if not incremental or self._optimizer is None:
            # Every fit, warm-started ones included, starts a new optimizer from the
            # current parameters (as MLPClassifier); partial_fit continues the old one.
            self._optimizer = self._make_optimizer()
            self._start_stopping_state(data, train_idx, early_stopping)
        else:
            self._trivial_loss = self._trivial_loss_of(data, train_idx)
        self.n_iter_ = 0
        reason = run_epochs(self, data, train_idx, validation, self._optimizer,
                            max_epochs=1 if incremental else self.max_iter,
                            incremental=incremental)
        if early_stopping and self._best_weights is not None:
            for k, v in self._best_weights.items():
                self.weights_[k][...] = v
            final_data_loss = self._best_weights_data_loss
        else:
            if early_stopping and self.n_iter_ > 0:
                warnings.warn("The validation score was never finite, so early stopping "
                              "could not choose weights; the last epoch's weights are kept.",
                              ConvergenceWarning)
            final_data_loss = self._last_data_loss
        if not incremental and self.n_iter_ > 0:
            check_outcome(self, final_data_loss, reason)

    def _start_stopping_state(self, data, train_idx, early_stopping):
        """Reset what the stop decision tracks; each fit decides on its own epochs."""
        self._trivial_loss = self._trivial_loss_of(data, train_idx)
        self._best_data_loss = np.inf
        self._first_data_loss = None
        self._last_data_loss = np.inf
        # The epoch at which training left the trivial plateau (None: not yet). Below tol
        # there is no plateau to leave.
        self._plateau_exit = 0 if self._trivial_loss <= self.tol else None
        self._no_improvement_count = 0
        self._best_weights = None
        self._best_weights_data_loss = np.inf
        if early_stopping:
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _trivial_loss_of(self, data, train_idx):
        """Training loss of the best constant prediction on the training sequences."""
        Y, w = data.row_values(train_idx)
        if not w.sum() > 0:
            return 0.0
        return trivial_loss(self._loss, Y, w)

    def _effective_batch_size(self, n_train):
        """``batch_size`` resolved against the number of training sequences."""
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n_train)
        if self.batch_size > n_train:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_train} training "
                "sequences; using one batch of all of them.", UserWarning)
            return n_train
        return self.batch_size

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

    def _batch_loss_grad(self, sub, targets, weights, normalizer):
        """Loss and gradients of one mini-batch, normalised by ``normalizer``.

        Parameters
        ----------
        sub : SequenceBatch
        targets, weights : ndarray
            The batch's targets and row weights (see :class:`TrainingSet`).
        normalizer : float
            Rows of the batch times the mean row weight of the training set.

        Returns
        -------
        data_loss : float
            ``sum_rows w l / normalizer``.
        loss : float
            ``data_loss`` plus the L2 penalty ``alpha / 2 ||W||^2 / (rows * mean weight)``.
        grads : dict of str to ndarray
        """
        masks = None
        if self.dropout > 0:
            masks = make_dropout_masks(self._config, self._rngs["dropout"], sub.n_timesteps,
                                       sub.n_sequences, self.dropout, sub.X.dtype)
        loss, grads, weight_sum = self._loss_grad(
            self.weights_, sub.X, sub.lengths, targets, weights, dropout_masks=masks)
        scale = weight_sum / normalizer
        if scale != 1.0:  # _loss_grad averages over this batch's weights
            loss *= scale
            for g in grads.values():
                g *= scale
        data_loss = loss
        if self.alpha > 0:
            loss += self._add_l2(self.weights_, grads, normalizer)
        return data_loss, loss, grads

    def _clip(self, grads):
        """Clip the gradient's global norm to ``clip_norm``; return the norm before."""
        return clip_grad_norm(grads, self.clip_norm)

    def _score_validation(self, batch, targets, weights):
        """Validation score of the current weights (NaN when the outputs are not finite)."""
        if not self._per_step:
            Z, Y, w = self._head_outputs(batch, check_finite=False), targets, weights
        else:  # real steps sequence after sequence, as _step_rows gives them
            Z = np.concatenate(self._step_rows(batch, check_finite=False))
            real = batch.mask.T
            Y, w = np.swapaxes(targets, 0, 1)[real], weights.T[real]
        if not np.all(np.isfinite(Z)):
            return float("nan")
        return float(self._validation_score(Z, Y, w))

    def _raise_non_finite(self, loss):
        raise ValueError(
            f"The training loss became non-finite ({loss}) at epoch {self.n_iter_ + 1}: "
            "the gradients exploded. Set clip_norm (e.g. clip_norm=1.0), lower "
            "learning_rate_init, or scale the input. The weights from before this step "
            "are kept."
        )

    def _fit_lbfgs(self, data):
        names = list(self.weights_)
        shapes = [self.weights_[k].shape for k in names]
        sizes = [int(np.prod(s)) for s in shapes]
        dtype = self.weights_[names[0]].dtype
        all_idx = np.arange(data.batch.n_sequences)
        batch_size = data.batch.n_sequences if self.batch_size == "auto" else self.batch_size
        # Buckets of similar length only bound the padding; the objective is the full batch.
        # Buckets whose weights are all zero contribute nothing and are dropped.
        buckets = []
        for b in self._batches(data.batch.lengths, max(batch_size, 1), False):
            idx = np.asarray(b)
            sub = data.batch.take(idx)
            targets, weights = data.subset(idx, sub.n_timesteps)
            if weights.sum() > 0:
                buckets.append((sub, targets, weights))
        total_w = data.weight_sum(all_idx)
        self._trivial_loss = self._trivial_loss_of(data, all_idx)
        self.validation_scores_ = None
        self.best_validation_score_ = None

        def unpack(x):
            out, pos = {}, 0
            for k, shape, size in zip(names, shapes, sizes):
                out[k] = x[pos: pos + size].reshape(shape).astype(dtype)
                pos += size
            return out

        def objective(x, with_penalty=True):
            weights = unpack(x)
            total_loss = 0.0
            acc = {k: np.zeros(s, dtype=np.float64) for k, s in zip(names, shapes)}
            for sub, targets, w in buckets:
                loss, grads, rw = self._loss_grad(weights, sub.X, sub.lengths, targets, w)
                total_loss += loss * rw
                for k in names:
                    acc[k] += grads[k] * rw
            loss = total_loss / total_w
            for k in names:
                acc[k] /= total_w
            if with_penalty and self.alpha > 0:
                loss += self._add_l2(weights, acc, total_w)
            flat = np.concatenate([acc[k].ravel() for k in names])
            if not (np.isfinite(loss) and np.all(np.isfinite(flat))):
                self._raise_non_finite(loss)
            return loss, flat

        last = {}

        def record(intermediate_result):
            last["x"] = intermediate_result.x.copy()
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = "
                      f"{intermediate_result.fun:.8f}")

        x0 = np.concatenate([self.weights_[k].ravel() for k in names]).astype(np.float64)
        try:
            res = scipy.optimize.minimize(
                objective, x0, method="L-BFGS-B", jac=True, callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
        except KeyboardInterrupt:
            # Keep the last iterate L-BFGS accepted, and a history that agrees with it.
            n_done = 0 if "x" not in last else len(self.loss_curve_)
            warnings.warn(f"Training interrupted (KeyboardInterrupt) after {n_done} L-BFGS "
                          "iterations of this fit; keeping the weights reached.", UserWarning)
            if "x" in last:
                for k, v in unpack(last["x"]).items():
                    self.weights_[k][...] = v
                self.loss_ = self.best_loss_ = self.loss_curve_[-1]
            self.n_iter_ = n_done
            return
        self.n_iter_ = _check_optimize_result("lbfgs", res, self.max_iter)
        self.t_ += data.batch.n_sequences * max(res.nit, 1)
        for k, v in unpack(res.x).items():
            self.weights_[k][...] = v
        self.loss_ = self.best_loss_ = float(res.fun)
        final_data_loss = objective(res.x, with_penalty=False)[0]
        check_outcome(self, final_data_loss, "lbfgs")

    # ------------------------------------------------------------------ prediction
    _NON_FINITE_OUTPUT = (
        "The network's outputs are not finite for this input: its values are too large for "
        "the model (e.g. with activation='relu'). Scale the input, for example with "
        "skrnn.preprocessing.SequenceScaler."
    )

    def _head_outputs(self, batch, check_finite=True):
        """Many-to-one head outputs of a validated batch, in length-sorted chunks.

        ``check_finite``: raise a ValueError when an output is not finite (prediction); the
        validation score of a diverging fit turns them into NaN instead.

        Returns
        -------
        Z : ndarray of shape (n_sequences, n_outputs)
        """
        W_out, b_out = self.weights_["output.weight"], self.weights_["output.bias"]
        head = self._output_head()
        out = np.empty((batch.n_sequences, W_out.shape[0]), dtype=W_out.dtype)
        for idx in length_chunks(batch.lengths):  # bounded padding per forward pass
            sub = batch.take(idx)
            res = forward(self._config, self.weights_, sub.X, sub.lengths, keep_cache=False)
            out[idx] = head.predict(W_out, b_out, res)
        if check_finite and not np.all(np.isfinite(out)):
            raise ValueError(self._NON_FINITE_OUTPUT)
        return out

    def _step_rows(self, batch, check_finite=True):
        """Per-step head outputs, one array per sequence, in bounded memory.

        No array of the padded size ``(n_timesteps, n_sequences)`` is built: each
        length-sorted chunk's outputs are cut to its sequences' real steps at once, so
        memory is the output plus one chunk. ``check_finite`` as in :meth:`_head_outputs`.

        Returns
        -------
        rows : list of ndarray of shape (n_timesteps_i, n_outputs)
            In the order of the sequences of ``batch``.
        """
        W_out, b_out = self.weights_["output.weight"], self.weights_["output.bias"]
        head = self._output_head()
        rows = [None] * batch.n_sequences
        for idx in length_chunks(batch.lengths):
            sub = batch.take(idx)
            res = forward(self._config, self.weights_, sub.X, sub.lengths, keep_cache=False)
            out = head.predict(W_out, b_out, res)  # (T_chunk, n_chunk, n_outputs)
            if check_finite and not np.all(np.isfinite(out)):
                raise ValueError(self._NON_FINITE_OUTPUT)
            for j, (i, L) in enumerate(zip(idx, sub.lengths)):
                rows[i] = np.ascontiguousarray(out[:L, j])
        return rows

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


class PerStepMixin:
    """The input and output structure rules of the per-step estimators (``GRUTagger``,
    ``GRUStepRegressor``): one target for every real step of ``X``, in the structure of
    ``X``, and per-step outputs given back in it. Put it before
    :class:`BaseRecurrentNetwork` in the bases.

    ``_step_multi_output``: whether a target may be a vector (a trailing output axis);
    ``_step_numeric``: whether targets must be numbers.
    """

    _per_step = True
    _step_multi_output = False
    _step_numeric = False

    def _y_of(self, y, batch):
        """``y`` present; for 2-D ``X`` (one step per sequence) without a vector target,
        1-D as scikit-learn wants it (a column vector warns)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        if batch.kind == "2d" and not self._step_multi_output:
            y = column_or_1d(y, warn=True)
        return y

    def _step_targets(self, y, batch):
        """Per-step targets, padded time-major: (n_timesteps, n_sequences[, n_outputs])."""
        return check_step_targets(self._y_of(y, batch), batch, numeric=self._step_numeric,
                                  allow_multi_output=self._step_multi_output)

    def _step_target_rows(self, y, batch):
        """Targets of every real step, sequence after sequence (no padded array for a
        list ``y``): (n_real_steps[, n_outputs])."""
        return step_target_rows(self._y_of(y, batch), batch, numeric=self._step_numeric,
                                allow_multi_output=self._step_multi_output)

    @staticmethod
    def _step_score_weights(sample_weight, batch):
        """One weight per sequence, as in ``fit``, repeated over its real steps (None
        stays None)."""
        if sample_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, batch.lengths, dtype=np.float64,
                                  ensure_non_negative=True)
        return np.repeat(sw, batch.lengths)

    @staticmethod
    def _to_structure(rows, batch, fill_value):
        """Per-sequence arrays back into the structure of the caller's ``X``."""
        return rows_to_structure(rows, batch, fill_value)
