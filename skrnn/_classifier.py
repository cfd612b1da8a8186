"""RNNClassifier: one class label per sequence (many-to-one classification)."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from ._base import BaseRecurrentNetwork, has_stochastic_solver, training_parameters_doc
from ._losses import log_softmax, sigmoid, softmax

__all__ = ["RNNClassifier"]


def first_missing_label(labels):
    """Index of the first NaN or None in ``labels`` (1-D), or None if there is none."""
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
    elif labels.dtype == object:
        # v != v is True only for NaN (float, NumPy or Decimal).
        missing = np.fromiter((v is None or v != v for v in labels), bool, len(labels))
    else:
        return None
    return int(np.argmax(missing)) if missing.any() else None


def check_no_missing_labels(labels):
    """Raise scikit-learn's "Input y contains NaN" (naming the label) for NaN or None."""
    bad = first_missing_label(labels)
    if bad is not None:
        raise ValueError(
            f"Input y contains NaN or None (label {bad}); every label must be a class. "
            "Drop the unlabelled sequences or give them a class of their own.")


def encode_labels(est, labels, first_call, classes=None):
    """Set ``est.classes_`` on the first call and return ``labels`` as class indices.

    Parameters
    ----------
    est : estimator
    labels : ndarray of shape (n_labels,)
        The labels (of real time steps, for a tagger).
    first_call : bool
        Whether this call (re)starts training.
    classes : array-like or None
        All classes, as given to ``partial_fit``.

    Returns
    -------
    indices : ndarray of shape (n_labels,), dtype intp
    """
    check_no_missing_labels(labels)
    check_classification_targets(labels)
    if first_call:
        est.classes_ = np.unique(np.asarray(classes) if classes is not None else labels)
        if len(est.classes_) < 2:
            raise ValueError(
                f"{type(est).__name__} needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {est.classes_[0]!r}.")
    unseen = np.setdiff1d(np.unique(labels), est.classes_)
    if unseen.size:
        raise ValueError(f"y contains labels not seen in the first call: {unseen}; known "
                         f"classes are {est.classes_}.")
    return np.searchsorted(est.classes_, labels)


def class_weight_vector(est, labels, incremental):
    """Weight of each class of ``est.classes_`` from ``est.class_weight``, or None.

    Parameters
    ----------
    est : classifier with ``class_weight`` and ``classes_``
    labels : ndarray of shape (n_labels,)
        Class indices of the training rows (sequences, or real steps for a tagger).
    incremental : bool
        Whether the call is ``partial_fit``, where ``"balanced"`` is refused (the class
        frequencies of one block are not those of the data), as in ``SGDClassifier``.

    Returns
    -------
    weights : ndarray of shape (n_classes,) or None
    """
    if est.class_weight is None:
        return None
    if incremental and est.class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: one block's class "
            "frequencies are not the data's. Compute the weights once with "
            "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, "
            "y=y) on enough of the targets and pass them as a dict.")
    if est.class_weight == "balanced":
        present = np.unique(labels)
        weights = np.ones(len(est.classes_))
        weights[present] = compute_class_weight(
            "balanced", classes=present, y=labels)
        return weights
    return compute_class_weight(est.class_weight, classes=est.classes_, y=est.classes_[labels])


def check_warm_start_classes(est, labels):
    """A warm-started ``fit`` must see the classes of the previous fit (as MLPClassifier)."""
    seen = np.unique(labels)
    if not np.array_equal(seen, est.classes_):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the previous "
            f"call to fit. Previously got {est.classes_}, `y` has {seen}. Set "
            "warm_start=False to fit the new classes from scratch.")


def check_partial_fit_classes(est, classes):
    """``classes`` is required on the first ``partial_fit`` and must not change later."""
    if not hasattr(est, "classes_"):
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
    elif classes is not None and not np.array_equal(np.unique(classes), est.classes_):
        raise ValueError(f"classes={np.unique(classes)} differs from the classes of the "
                         f"previous call, {est.classes_}.")


class RNNClassifier(ClassifierMixin, BaseRecurrentNetwork):
    __doc__ = """Recurrent neural network classifier: one label per sequence.

    A stack of recurrent layers reads each sequence; the top layer's state at the
    sequence's last real step (for ``bidirectional=True``, the forward state followed by the
    backward direction's state at the first step, PyTorch's ``h_n`` order) feeds a linear
    layer and a softmax over the classes. Trained by backpropagation through time on the
    cross-entropy, with scikit-learn ``MLPClassifier``'s names and meanings.

    Parameters
    ----------
{parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    weights_ : dict of str to ndarray
        Fitted weights under PyTorch's names; see :meth:`get_weights`.
    loss_curve_ : list of float
        Training loss after each epoch.
    best_loss_ : float or None
        Lowest training loss of the latest fit (None with early stopping).
    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early stopping only).
    best_validation_score_ : float or None
        Best validation accuracy (early stopping only).
    n_iter_ : int
        Epochs of the latest call (``partial_fit``: 1), as in ``MLPClassifier``;
        ``loss_curve_`` holds every epoch.
    loss_ : float
        Training loss of the last epoch (penalty included).
    t_ : int
        Training sequences seen.
    n_outputs_ : int
        Number of logits (``n_classes``).
    n_layers_ : int
        Number of recurrent layers.
    n_features_in_ : int
        Features per time step seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    LSTMRegressor : The same network with a regression head.
    GRUTagger : A label for every time step.
    sklearn.neural_network.MLPClassifier : The feed-forward model whose API this follows.

    Notes
    -----
    ``X`` may be a 3-D array ``(n_sequences, n_timesteps, n_features)`` (trailing all-NaN
    steps are padding), a list of 2-D arrays ``(n_timesteps_i, n_features)``, or a 2-D array
    ``(n_samples, n_features)`` read as length-1 sequences. A batch of univariate series
    ``(n_sequences, n_timesteps)`` must be passed as ``X[:, :, None]``.

    The head always has one logit per class, binary problems included, so ``predict_proba``
    is ``softmax(h @ output.weight.T + output.bias)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 10, 1))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = RNNClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """.format(parameters=training_parameters_doc(default_cell="rnn",
                                                 early_stopping_score="accuracy",
                                                 class_weight_rows="sequences"))

    _loss = "log_loss"

    _parameter_constraints: dict = {
        **BaseRecurrentNetwork._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        cell="rnn",
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
        class_weight=None,
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
        self.class_weight = class_weight

    def _encode_targets(self, y, batch, first_call, classes=None, warm_start=False):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y_arr = np.asarray(y)
        if y_arr.ndim == 1:  # before type_of_target, which fails to sort None among str
            check_no_missing_labels(y_arr)
        if first_call:
            self._multilabel = type_of_target(y) == "multilabel-indicator"
        if self._multilabel:
            return self._encode_multilabel(y, batch, first_call, classes)
        y = column_or_1d(y, warn=True)
        if y.shape[0] != batch.n_sequences:
            raise ValueError(f"X has {batch.n_sequences} sequences but y has {y.shape[0]} "
                             "labels; they must match.")
        if warm_start:
            check_warm_start_classes(self, y)
        self._loss = "log_loss"
        return encode_labels(self, y, first_call, classes), len(self.classes_)

    def _encode_multilabel(self, y, batch, first_call, classes):
        """A 0/1 indicator matrix (n_sequences, n_labels): one sigmoid output per label."""
        Y = check_array(y, dtype=batch.dtype, input_name="y")
        if Y.shape[0] != batch.n_sequences:
            raise ValueError(f"X has {batch.n_sequences} sequences but y has {Y.shape[0]} "
                             "rows; they must match.")
        if not np.isin(Y, (0, 1)).all():
            raise ValueError("A 2-D y must be a multilabel indicator matrix of 0 and 1.")
        if first_call:
            self.classes_ = np.arange(Y.shape[1])
        elif Y.shape[1] != len(self.classes_):
            raise ValueError(f"y has {Y.shape[1]} labels; the previous call had "
                             f"{len(self.classes_)}.")
        self._loss = "binary_log_loss"
        return Y, Y.shape[1]

    def _class_weights(self, targets, batch, incremental):
        if self._multilabel:
            if self.class_weight is not None:
                raise ValueError("class_weight is not supported for multilabel y; weight "
                                 "the sequences with sample_weight instead.")
            return None
        return class_weight_vector(self, targets, incremental)

    def _stratify(self, targets):
        if self._multilabel:
            return None
        counts = np.bincount(targets)
        return targets if counts[counts > 0].min() >= 2 else None

    def _validation_score(self, Z, targets, weights):
        if self._multilabel:
            return accuracy_score(targets, (Z > 0).astype(targets.dtype), sample_weight=weights)
        return accuracy_score(targets, Z.argmax(axis=1), sample_weight=weights)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Training sequences.
        y : array-like of shape (n_sequences,) or (n_sequences, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel classification (one
            sigmoid output per label, as ``MLPClassifier``).
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence in the loss (times ``class_weight``).

        Returns
        -------
        self : RNNClassifier
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(has_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run exactly one epoch over ``X``, keeping the optimizer state between calls.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        y : array-like of shape (n_sequences,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, ignored afterwards.
        sample_weight : array-like of shape (n_sequences,), default=None

        Returns
        -------
        self : RNNClassifier
        """
        check_partial_fit_classes(self, classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def _logits(self, X):
        """Logits of shape (n_sequences, n_classes), one column per class."""
        return self._head_outputs(self._validated_batch(X))

    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_sequences, n_classes)
            Columns follow ``classes_``. For multilabel ``y``, the probability of each
            label on its own (rows need not sum to 1).
        """
        Z = self._logits(X)
        return sigmoid(Z) if self._multilabel else softmax(Z)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably.

        Returns
        -------
        log_proba : ndarray of shape (n_sequences, n_classes)
        """
        Z = self._logits(X)
        if self._multilabel:
            return -np.logaddexp(0.0, -Z)
        return log_softmax(Z)

    def predict(self, X):
        """Most probable class of each sequence.

        Returns
        -------
        y : ndarray of shape (n_sequences,), or (n_sequences, n_labels) 0/1 indicators
            for multilabel ``y``
        """
        logits = self._logits(X)
        if self._multilabel:
            return (logits > 0).astype(int)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
