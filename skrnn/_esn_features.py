"""Per-sequence reservoir features: the unsupervised EchoStateTransformer and the
EchoStateClassifier (those features and a ridge readout on one-hot targets)."""

import time
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ._esn_base import RESERVOIR_PARAMETERS, EchoStateBase
from ._readout import RidgeStatistics
from ._reservoir_chunks import ChunkedInput, StepOutputs

__all__ = ["EchoStateClassifier", "EchoStateTransformer"]

_SUMMARIES = {"last": ("last",), "mean": ("mean",), "last_mean": ("last", "mean")}

_RESERVOIR_DOC = """    n_reservoir : int, default=100
        Reservoir units.
    spectral_radius : float, default=0.9
        Spectral radius of the recurrent matrix, applied at run time (a grid over it never
        recomputes eigenvalues).
    leak_rate : float in (0, 1], default=1.0
        Leak of the leaky integrator (1: no leak).
    input_scaling : float, default=1.0
        Input weights are uniform in ``[-input_scaling, input_scaling]``.
    bias_scaling : float, default=0.1
        Reservoir biases are uniform in ``[-bias_scaling, bias_scaling]``.
    density : float in (0, 1], default=0.1
        Fraction of non-zero recurrent connections (``reservoir="random"``).
    input_density : float in (0, 1], default=1.0
        Fraction of non-zero input weights, at least one per unit.
    activation : {"tanh", "relu", "identity"}, default="tanh"
        Reservoir activation.
    reservoir : {"random", "cycle", "delay_line"}, array-like, sparse matrix or callable, \
            default="random"
        Topology of the recurrent matrix, as in :class:`EchoStateRegressor`.
    washout : int, default=0
        Steps left out of the mean state at the start of every sequence (a sequence of
        length ``L`` keeps at least its last step). The last state is not affected.
    include_input : bool, default=True
        Whether the features also hold the same summaries of the input ``u_t``.
"""

_SHARED_DOC = """    random_state : int, RandomState instance or None, default=None
        Controls the reservoir, the input and bias weights and the eigen-solver's start
        vector, through independent streams. Pass an int for reproducible results.
    verbose : int, default=0
        Print progress (one line per chunk of sequences) when positive.
"""


class EchoStateTransformer(TransformerMixin, EchoStateBase):
    # The docstring shares its reservoir parameters with the classifier's, hence assigned.
    __doc__ = """Reservoir features of whole sequences, without targets.

    ``fit(X)`` builds a fixed random reservoir (it needs no ``y`` and learns nothing from
    the data but its feature count); ``transform(X)`` runs every sequence through it and
    summarises the states, by default as the last state and the mean state. The result is a
    2-D array ``(n_sequences, n_features_out)``, so the transformer is the first step of a
    :class:`~sklearn.pipeline.Pipeline` that ends in any scikit-learn classifier or
    regressor, e.g. ``make_pipeline(EchoStateTransformer(), RidgeClassifier())``.

    Parameters
    ----------
""" + _RESERVOIR_DOC + """    features : {"last_mean", "last", "mean", "steps"}, default="last_mean"
        What :meth:`transform` returns: per sequence the last state, the mean state (over
        the steps after the washout), both side by side, or (``"steps"``) the state at every
        step in the structure of ``X``, which is 2-D only for 2-D ``X``.
""" + _SHARED_DOC + """
    Attributes
    ----------
    W_ : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Recurrent matrix normalised to spectral radius 1.
    spectral_radius_unit_ : float
        Spectral radius of the matrix before normalisation.
    W_in_ : ndarray of shape (n_reservoir, n_features)
        Input weights.
    W_back_ : None
        No feedback (kept for the shared runner).
    bias_ : ndarray of shape (n_reservoir,)
        Reservoir biases.
    n_features_in_ : int
        Features per time step.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    EchoStateClassifier : The same features and a ridge classifier, in one estimator.
    EchoStateRegressor : Per-step regression on reservoir states.

    Notes
    -----
    Output columns, for ``features="last_mean"`` and ``include_input=True``: the last input
    and last state, then the mean input and mean state (see
    :meth:`get_feature_names_out`). :meth:`set_output` (pandas, polars) applies whenever the
    output is 2-D. Memory stays bounded for any mix of lengths: sequences are run in
    length-sorted chunks and time blocks. float32 input gives float32 features.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import RidgeClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skrnn import EchoStateTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 20, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> EchoStateTransformer(n_reservoir=30, random_state=0).fit_transform(X).shape
    (60, 64)
    >>> model = make_pipeline(EchoStateTransformer(n_reservoir=30, random_state=0),
    ...                       RidgeClassifier()).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **RESERVOIR_PARAMETERS,
        "features": [StrOptions({"last_mean", "last", "mean", "steps"})],
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
        include_input=True,
        features="last_mean",
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
        self.include_input = include_input
        self.features = features
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and build the reservoir for its feature count.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Input sequences.
        y : None
            Ignored.

        Returns
        -------
        self : EchoStateTransformer
            The fitted transformer.
        """
        data = ChunkedInput(X, estimator=self, reset=True, n_units=self.n_reservoir)
        for _ in data:  # validates every chunk of a ragged list
            pass
        self._build_reservoir(data.n_features)
        return self

    def transform(self, X):
        """Reservoir features of every sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_sequences, n_features_out), or per-step states
            With ``features="steps"``: ``(n_sequences, n_timesteps, n_columns)`` for 3-D
            ``X`` (NaN at padding), a list of ``(n_timesteps_i, n_columns)`` arrays, or
            ``(n_samples, n_columns)`` for 2-D ``X``; the columns are ``[u_t, x_t]`` (``x_t``
            alone without ``include_input``).
        """
        check_is_fitted(self, "W_")
        data = ChunkedInput(X, estimator=self, reset=False, n_units=self.n_reservoir)
        reservoir = self._runner(data.dtype)
        if self.features != "steps":
            return self._sequence_summaries(data, reservoir, _SUMMARIES[self.features])
        if data.kind != "2d" and _get_output_config("transform", self)["dense"] != "default":
            raise ValueError("set_output applies to 2-D output only; features='steps' gives "
                             "per-step states in the structure of 3-D or ragged X. Use "
                             "set_output(transform='default').")
        d = data.n_features if self.include_input else 0
        out = StepOutputs(data, d + self.n_reservoir, data.dtype)
        started = time.perf_counter()
        for c, chunk in enumerate(data):
            for t0, _, U, states, _ in self._blocks(reservoir, chunk):
                out.put(chunk.index, t0, np.concatenate([U, states], axis=2) if d else states)
            self._chunk_progress(c, len(data._chunks), chunk, started)
        return out.result()

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        ``"last_x0"``, ``"last_state0"``, ``"mean_state0"``..., with the input's own names
        when ``X`` was a DataFrame; for ``features="steps"``, ``"x0"``..., ``"state0"``...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` when given.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "W_")
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            names = getattr(self, "feature_names_in_", None)
            if len(input_features) != self.n_features_in_ or (
                    names is not None and not np.array_equal(input_features, names)):
                raise ValueError("input_features is not equal to feature_names_in_ (or "
                                 f"does not have {self.n_features_in_} entries).")
        if self.features == "steps":
            names = self._summary_names(("",))
            return np.asarray([n[1:] for n in names], dtype=object)
        return self._summary_names(_SUMMARIES[self.features])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags


class EchoStateClassifier(ClassifierMixin, EchoStateBase):
    __doc__ = """Echo state network classifier: reservoir features of each sequence, ridge readout.

    Each sequence runs through a fixed random reservoir (as in
    :class:`EchoStateRegressor`); its features (the last state, the mean state, or both,
    with the same summaries of the input) feed a ridge regression on one-hot targets coded
    as -1/+1, the semantics of :class:`~sklearn.linear_model.RidgeClassifier`: the
    predicted class has the largest readout score. Only the readout is trained, in one
    linear solve, exactly weighted by ``sample_weight``.

    Parameters
    ----------
""" + _RESERVOIR_DOC + """    features : {"last_mean", "last", "mean"}, default="last_mean"
        Per-sequence features: the last state, the mean state over the steps after the
        washout, or both side by side.
    alpha : float, default=1.0
        Ridge penalty of the readout (not applied to the intercept); the default of
        :class:`~sklearn.linear_model.RidgeClassifier`.
""" + _SHARED_DOC + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features_out) or (n_classes, n_features_out)
        Readout weights (one row for two classes, as in ``RidgeClassifier``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Readout intercepts.
    W_ : ndarray or scipy.sparse.csr_matrix of shape (n_reservoir, n_reservoir)
        Recurrent matrix normalised to spectral radius 1.
    spectral_radius_unit_ : float
        Spectral radius of the matrix before normalisation.
    W_in_ : ndarray of shape (n_reservoir, n_features)
        Input weights.
    W_back_ : None
        No feedback (kept for the shared runner).
    bias_ : ndarray of shape (n_reservoir,)
        Reservoir biases.
    n_features_in_ : int
        Features per time step.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` was a DataFrame.

    See Also
    --------
    EchoStateTransformer : The features alone, for any scikit-learn classifier.
    RNNClassifier : A trained recurrent network.

    Notes
    -----
    There is no ``predict_proba``: ridge scores on -1/+1 targets are not probabilities
    (they are unbounded and not calibrated), and offering them as such would not be
    honest. Use :meth:`decision_function`, or wrap the classifier in
    :class:`~sklearn.calibration.CalibratedClassifierCV` for calibrated probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import EchoStateClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 30, 1))
    >>> y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    >>> clf = EchoStateClassifier(n_reservoir=50, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _structural_params = ("n_reservoir", "include_input", "features")

    _parameter_constraints: dict = {
        **RESERVOIR_PARAMETERS,
        "features": [StrOptions({"last_mean", "last", "mean"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
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
        include_input=True,
        features="last_mean",
        alpha=1.0,
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
        self.include_input = include_input
        self.features = features
        self.alpha = alpha
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Build the reservoir, compute the features of ``X`` and solve the readout.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Input sequences.
        y : array-like of shape (n_sequences,)
            One label per sequence.
        sample_weight : array-like of shape (n_sequences,), default=None
            Weight of each sequence; a weight of ``k`` equals repeating the sequence ``k``
            times.

        Returns
        -------
        self : EchoStateClassifier
            The fitted classifier.
        """
        if y is None:
            raise ValueError("EchoStateClassifier requires y to be passed, but the target y "
                             "is None.")
        data = ChunkedInput(X, estimator=self, reset=True, n_units=self.n_reservoir)
        y = column_or_1d(y, warn=True)
        if len(y) != data.n_sequences:
            raise ValueError(f"X has {data.n_sequences} sequences but y has {len(y)} "
                             "labels; they must match.")
        check_classification_targets(y)
        binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
        Y = binarizer.fit_transform(y).astype(np.float64)
        self.classes_ = binarizer.classes_
        if len(self.classes_) < 2:
            raise ValueError("The classifier needs samples of at least 2 classes in the "
                             f"data, but the data contains only one class: "
                             f"{self.classes_[0]!r}.")
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, np.empty((data.n_sequences, 1)),
                                      dtype=np.float64, ensure_non_negative=True)
        self._build_reservoir(data.n_features)
        F = self._sequence_summaries(data, self._runner(data.dtype),
                                     _SUMMARIES[self.features])
        stats = RidgeStatistics(F.shape[1], Y.shape[1]).update(F, Y, sw)
        self.coef_, self.intercept_ = stats.solve(self.alpha)
        return self

    def decision_function(self, X):
        """Readout scores of every sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.

        Returns
        -------
        scores : ndarray of shape (n_sequences,) or (n_sequences, n_classes)
            For two classes, positive scores predict ``classes_[1]``.
        """
        check_is_fitted(self, "coef_")
        data = ChunkedInput(X, estimator=self, reset=False, n_units=self.n_reservoir)
        F = self._sequence_summaries(data, self._runner(data.dtype),
                                     _SUMMARIES[self.features])
        scores = F @ self.coef_.T.astype(F.dtype) + self.intercept_.astype(F.dtype)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict the class of every sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Input sequences, as in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_sequences,)
            Predicted labels.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
