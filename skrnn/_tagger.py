"""GRUTagger: a label for every time step (synced many-to-many classification)."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import (
    BaseRecurrentNetwork,
    PerStepMixin,
    has_stochastic_solver,
    training_parameters_doc,
)
from ._classifier import (
    check_partial_fit_classes,
    check_warm_start_classes,
    class_weight_vector,
    encode_labels,
    first_missing_label,
)
from ._losses import softmax

__all__ = ["GRUTagger"]


class GRUTagger(ClassifierMixin, PerStepMixin, BaseRecurrentNetwork):
    __doc__ = """Recurrent sequence tagger: one class label for every time step.

    A stack of recurrent layers (GRU by default; ``bidirectional=True`` is usually wanted
    for tagging, so each step sees its future too) reads each sequence; a linear layer and a
    softmax over the classes read the top layer's output at every step (both directions
    concatenated). The loss is the cross-entropy averaged over real steps only: padding
    contributes nothing to the loss or to any gradient. This is the synchronised
    many-to-many case: part-of-speech tagging, a label for every video frame.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Tag labels.
    weights_ : dict of str to ndarray
        Fitted weights under PyTorch's names; see :meth:`get_weights`.
    loss_curve_ : list of float
        Training loss (mean cross-entropy per real step) after each epoch.
    best_loss_ : float or None
        Lowest training loss of the latest fit (None with early stopping).
    validation_scores_ : list of float or None
        Validation token accuracy after each epoch (early stopping only).
    best_validation_score_ : float or None
        Best validation token accuracy (early stopping only).
    n_iter_ : int
        Epochs of the latest call (``partial_fit``: 1), as in ``MLPClassifier``;
        ``loss_curve_`` holds every epoch.
    loss_ : float
        Training loss of the last epoch (penalty included).
    t_ : int
        Training sequences seen.
    n_outputs_ : int
        Number of logits per step (``n_classes``).
    n_layers_ : int
        Number of recurrent layers.
    n_features_in_ : int
        Features per time step seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    RNNClassifier : One label per sequence.
    skrnn.metrics.FLAT_SCORERS : Per-step scorers for ``cross_validate`` and
        ``GridSearchCV`` (``scoring="accuracy"`` does not work on per-step labels).
    skrnn.metrics.flat_accuracy_score : Token accuracy of per-step predictions.

    Notes
    -----
    Targets follow the input: for a 3-D ``X`` of shape ``(n_sequences, n_timesteps,
    n_features)``, ``y`` has shape ``(n_sequences, n_timesteps)`` (its values at padded
    steps are ignored); for a list of sequences, ``y`` is a list of 1-D label arrays of
    matching lengths; for a 2-D ``X`` (length-1 sequences), ``y`` is 1-D. ``predict``
    returns the same structure. For a 3-D ``X`` with NaN padding, padded steps of the
    prediction hold NaN (numeric labels) or None (other labels).

    Scikit-learn's splitters work on ragged targets unchanged: a list of label arrays is
    target type ``"unknown"`` (equal lengths: ``"multiclass-multioutput"``), so
    ``GridSearchCV``/``cross_validate`` use ``KFold`` over whole sequences. ``score`` is token
    accuracy over real steps.

    **Scoring in cross-validation.** ``scoring=None`` uses ``score`` (token accuracy). A
    scikit-learn scorer name such as ``scoring="accuracy"`` or ``"f1_macro"`` does not
    score tags: its metric expects one label per sample, not one per time step. Sequences
    of different lengths make every fold fail with ``"unknown is not supported"`` (the
    scores are NaN, with a "Scoring failed" warning); equal lengths with more than two tags
    fail with ``"multiclass-multioutput is not supported"``; equal lengths with the tags 0
    and 1 *silently* give another metric, the fraction of sequences tagged right at every
    step. Use the flat scorers of :mod:`skrnn.metrics`, which score every real step::

        from skrnn.metrics import FLAT_SCORERS
        cross_validate(GRUTagger(), X, y, scoring={{"acc": FLAT_SCORERS["accuracy"],
                                                   "f1": FLAT_SCORERS["f1_macro"]}})

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import GRUTagger
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.integers(0, 2, size=(L, 1)).astype(float) for L in rng.integers(3, 9, 80)]
    >>> y = [np.maximum.accumulate(x[:, 0]).astype(int) for x in X]  # "seen a 1 yet?"
    >>> tagger = GRUTagger(hidden_layer_sizes=(8,), learning_rate_init=0.02, max_iter=100,
    ...                    random_state=0).fit(X, y)
    >>> tagger.score(X, y) > 0.95
    True
    """.format(parameters=training_parameters_doc(default_cell="gru",
                                                 early_stopping_score="token accuracy",
                                                 stratified=False,
                                                 class_weight_rows="real time steps"))

    _loss = "log_loss"

    _parameter_constraints: dict = {
        **BaseRecurrentNetwork._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

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
        Y = self._step_targets(y, batch)
        mask = batch.mask
        labels = Y[mask]
        bad = first_missing_label(labels)
        if bad is not None:
            t, i = np.argwhere(mask)[bad]
            raise ValueError(
                f"Input y contains NaN or None at step {t} of sequence {i}, a real step of "
                "X; every real step needs a label. Padding is marked in X (trailing "
                "all-NaN steps of a 3-D array), and y is ignored there.")
        if warm_start:
            check_warm_start_classes(self, labels)
        codes = np.zeros(Y.shape, dtype=np.intp)
        codes[mask] = encode_labels(self, labels, first_call, classes)
        return codes, len(self.classes_)

    def _class_weights(self, targets, batch, incremental):
        return class_weight_vector(self, targets[batch.mask], incremental)

    def _validation_score(self, Z, targets, weights):
        return accuracy_score(targets, Z.argmax(axis=1), sample_weight=weights)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the tagger to sequences ``X`` and per-step labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Training sequences.
        y : array-like of shape (n_sequences, n_timesteps), list of arrays of shape \
                (n_timesteps_i,), or array-like of shape (n_samples,)
            One label per time step, in the structure of ``X``.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence; every real step of a sequence carries its weight.

        Returns
        -------
        self : GRUTagger
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
        y : array-like or list of arrays
            Per-step labels, as in :meth:`fit`.
        classes : array-like of shape (n_classes,), default=None
            All tags; required on the first call, ignored afterwards.
        sample_weight : array-like of shape (n_sequences,), default=None

        Returns
        -------
        self : GRUTagger
        """
        check_partial_fit_classes(self, classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def _sequence_proba(self, X):
        """Tag probabilities of every sequence's real steps, one array per sequence, in
        memory bounded by the output (no padded ``(n_timesteps, n_sequences)`` array)."""
        batch = self._validated_batch(X)
        rows = self._step_rows(batch)
        P = softmax(np.concatenate(rows))  # one call for all steps
        return np.split(P, np.cumsum(batch.lengths)[:-1]), batch

    def predict_proba(self, X):
        """Tag probabilities at every step.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_sequences, n_timesteps, n_classes), list of arrays of \
                shape (n_timesteps_i, n_classes), or ndarray of shape (n_samples, n_classes)
            In the structure of ``X``; NaN at padded steps of a 3-D ``X``.
        """
        rows, batch = self._sequence_proba(X)
        return self._to_structure(rows, batch, np.nan)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, in the same structure."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict(self, X):
        """The most probable tag at every step.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_sequences, n_timesteps), list of arrays of shape \
                (n_timesteps_i,), or ndarray of shape (n_samples,)
            In the structure of ``X``. Padded steps of a 3-D ``X`` hold NaN (numeric
            labels) or None (other labels).
        """
        rows, batch = self._sequence_proba(X)
        labels = self.classes_[np.argmax(np.concatenate(rows), axis=1)]
        per_sequence = np.split(labels, np.cumsum(batch.lengths)[:-1])
        numeric = self.classes_.dtype.kind in "iufb"
        return self._to_structure(per_sequence, batch, np.nan if numeric else None)

    def score(self, X, y, sample_weight=None):
        """Token accuracy: the fraction of real time steps tagged correctly.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        y : array-like or list of arrays
            True per-step labels, as in :meth:`fit`.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence (applied to each of its steps).

        Returns
        -------
        score : float
        """
        batch = self._validated_batch(X)
        # Real steps sequence after sequence, for labels and predictions alike: nothing of
        # the padded size is built for ragged data.
        Y = self._step_target_rows(y, batch)
        pred = self.classes_[np.argmax(np.concatenate(self._step_rows(batch)), axis=1)]
        return accuracy_score(Y, pred,
                              sample_weight=self._step_score_weights(sample_weight, batch))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
