"""Sequence-aware preprocessing: scaling and down-sampling of 3-D and ragged data, and
forecasting windows.

:class:`SequenceScaler` standardises every feature over the real (non-padded) time steps of
all sequences, :class:`PerSequenceScaler` standardises each sequence on its own (the UCR/UEA
convention), and :class:`PiecewiseAggregate` shortens sequences by averaging blocks of steps
(PAA). All give the data back in the structure it came in (3-D array with NaN padding, list of
2-D arrays, or 2-D array), so they sit in a :class:`~sklearn.pipeline.Pipeline` in front of any
skrnn estimator. :func:`make_windows` turns one long series into ``(X, y)`` pairs of windows
and future values for many-to-one forecasting.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import validate_params
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.validation import check_is_fitted

from ._params import PositiveInt
from ._sequences import SequenceBatch, check_sequences, restore_structure

__all__ = ["PerSequenceScaler", "PiecewiseAggregate", "SequenceScaler", "make_windows"]


def _is_constant_feature(var, mean, n_samples):
    """True where a variance is indistinguishable from 0 (as in ``StandardScaler``).

    The bound is the error of the two-pass variance algorithm (Chan, Golub and LeVeque).
    """
    eps = np.finfo(np.float64).eps
    upper_bound = n_samples * eps * var + (n_samples * mean * eps) ** 2
    return var <= upper_bound


class SequenceScaler(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Standardise each feature over the real time steps of all sequences.

    The mean and standard deviation of every feature are computed over all real
    (non-padded) time steps of all sequences, exactly as
    :class:`~sklearn.preprocessing.StandardScaler` would compute them on the time steps
    stacked row-wise; :meth:`transform` returns the data in the structure it was given.
    Padding never enters the statistics and stays padding (NaN) in the output.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre every feature (subtract ``mean_``).
    with_std : bool, default=True
        Scale every feature to unit variance (divide by ``scale_``).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Per-feature mean over real steps. None when ``with_mean=False`` and
        ``with_std=False``.
    var_ : ndarray of shape (n_features,) or None
        Per-feature (population) variance over real steps. None when ``with_std=False``.
    scale_ : ndarray of shape (n_features,) or None
        Per-feature scale, ``sqrt(var_)``, with 1 for constant features. None when
        ``with_std=False``.
    n_samples_seen_ : int
        Number of real time steps seen (summed over all sequences and all calls to
        :meth:`partial_fit`).
    n_features_in_ : int
        Number of features per time step (the last axis of ``X``).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features, when ``X`` is a pandas DataFrame (2-D input).

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same for 2-D data; identical on 2-D input.

    Notes
    -----
    ``X`` may be any of the three forms of the input contract:

    - a 3-D array of shape (n_sequences, n_timesteps, n_features), where time steps at
      the end of a sequence that are entirely NaN are padding;
    - a list of 2-D arrays of shape (n_timesteps_i, n_features);
    - a 2-D array of shape (n_samples, n_features), read as length-1 sequences, on which
      the scaler is exactly ``StandardScaler``.

    The output has the same form: a 3-D array (padded steps NaN), a list of 2-D arrays,
    or a 2-D array. float32 input gives float32 output. ``set_output(transform="pandas")``
    applies to 2-D input only: a DataFrame cannot hold 3-D or ragged data, which is
    returned as NumPy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import SequenceScaler
    >>> X = [np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[4.0, 20.0]])]
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_
    array([ 2., 20.])
    >>> [x.round(3) for x in scaler.transform(X)]
    [array([[-1.225, -1.225],
           [ 0.   ,  1.225]]), array([[1.225, 0.   ]])]
    """

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _reset(self):
        for attr in ("mean_", "var_", "scale_", "n_samples_seen_", "_m2"):
            if hasattr(self, attr):
                delattr(self, attr)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the per-feature mean and standard deviation over the real steps.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
            Fitted scaler.
        """
        self._reset()
        return self._partial_fit(X, first_call=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the statistics with a further batch of sequences (streaming data).

        The result after several calls equals one :meth:`fit` on all the sequences
        (up to rounding), computed with Chan et al.'s pairwise update.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
            Fitted scaler.
        """
        return self._partial_fit(X, first_call=not hasattr(self, "n_samples_seen_"))

    def _partial_fit(self, X, first_call):
        batch = check_sequences(X, estimator=self, reset=first_call)
        steps = batch.X[batch.mask].astype(np.float64, copy=False)  # (n_real_steps, d)
        n_b = steps.shape[0]
        mean_b = steps.mean(axis=0)
        m2_b = ((steps - mean_b) ** 2).sum(axis=0)
        if first_call:
            n, mean, m2 = n_b, mean_b, m2_b
        else:
            n_a, mean_a, m2_a = self.n_samples_seen_, self._mean, self._m2
            n = n_a + n_b
            delta = mean_b - mean_a
            mean = mean_a + delta * (n_b / n)
            m2 = m2_a + m2_b + delta**2 * (n_a * n_b / n)
        self.n_samples_seen_ = int(n)
        self._mean, self._m2 = mean, m2
        var = m2 / n
        self.mean_ = mean if (self.with_mean or self.with_std) else None
        if self.with_std:
            self.var_ = var
            constant = _is_constant_feature(var, mean, n)
            self.scale_ = np.where(constant, 1.0, np.sqrt(var))
        else:
            self.var_ = None
            self.scale_ = None
        return self

    def _apply(self, X, inverse):
        check_is_fitted(self, "n_samples_seen_")
        batch = check_sequences(X, estimator=self, reset=False)
        dtype = batch.X.dtype
        values = batch.X  # may be a view of the caller's data: never modified in place
        if inverse:
            if self.with_std:
                values = values * self.scale_.astype(dtype)
            if self.with_mean:
                values = values + self.mean_.astype(dtype)
        else:
            if self.with_mean:
                values = values - self.mean_.astype(dtype)
            if self.with_std:
                values = values / self.scale_.astype(dtype)
        values = np.array(values, dtype=dtype, copy=True)
        return restore_structure(values, batch, fill_value=np.nan), batch

    def transform(self, X):
        """Standardise ``X`` with the fitted statistics, keeping its structure.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.

        Returns
        -------
        X_tr : ndarray of shape (n_sequences, n_timesteps, n_features), list of ndarray of \
                shape (n_timesteps_i, n_features), or ndarray of shape (n_samples, n_features)
            The scaled sequences in the structure of ``X``; padded steps of a 3-D array
            are NaN.
        """
        out, batch = self._apply(X, inverse=False)
        if batch.kind == "2d":
            return _wrap_data_with_container("transform", out, X, self)
        return out

    def fit_transform(self, X, y=None):
        """Fit to ``X``, then transform it; same as ``fit(X).transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.
        y : None
            Ignored.

        Returns
        -------
        X_tr : ndarray of shape (n_sequences, n_timesteps, n_features), list of ndarray of \
                shape (n_timesteps_i, n_features), or ndarray of shape (n_samples, n_features)
            The scaled sequences in the structure of ``X``.
        """
        # Defined here because TransformerMixin's own fit_transform is wrapped for
        # set_output, which would try to put 3-D and ragged output in a DataFrame.
        return self.fit(X, y).transform(X)

    def inverse_transform(self, X):
        """Undo :meth:`transform`, keeping the structure of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            Scaled sequences.

        Returns
        -------
        X_original : ndarray of shape (n_sequences, n_timesteps, n_features), list of \
                ndarray of shape (n_timesteps_i, n_features), or ndarray of shape \
                (n_samples, n_features)
            The sequences in original units, in the structure of ``X``.
        """
        return self._apply(X, inverse=True)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ``auto_wrap_output_keys=None`` above stops scikit-learn from wrapping ``transform`` (it
# would try to put 3-D and ragged output in a DataFrame); declaring the key afterwards keeps
# ``set_output`` available, and ``transform`` wraps 2-D output itself.
SequenceScaler._sklearn_auto_wrap_output_keys = {"transform"}


class _StructurePreservingTransformer(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """A stateless per-sequence transform that keeps the structure of ``X``.

    ``fit`` records the number of features (and their names); :meth:`_transform_batch`
    maps a validated batch to ``(values, lengths, n_timesteps_in)`` of the output.
    """

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_in_")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and record its number of features; nothing is learnt.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._check_params_for(check_sequences(X, estimator=self, reset=True))
        return self

    def _check_params_for(self, batch):
        """Raise if the parameters cannot apply to ``batch``."""

    def transform(self, X):
        """Transform every sequence on its own, keeping the structure of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.

        Returns
        -------
        X_tr : ndarray of shape (n_sequences, n_timesteps_out, n_features), list of \
                ndarray of shape (n_timesteps_out_i, n_features), or ndarray of shape \
                (n_samples, n_features)
            The transformed sequences in the structure of ``X``; padded steps of a 3-D
            array are NaN.
        """
        check_is_fitted(self)
        batch = check_sequences(X, estimator=self, reset=False)
        self._check_params_for(batch)
        values, lengths, T_in = self._transform_batch(batch)
        out_batch = SequenceBatch(values, lengths, batch.kind, T_in)
        out = restore_structure(values, out_batch, fill_value=np.nan)
        if batch.kind == "2d":
            return _wrap_data_with_container("transform", out, X, self)
        return out

    def fit_transform(self, X, y=None):
        """Fit to ``X``, then transform it; same as ``fit(X).transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of \
                shape (n_timesteps_i, n_features), or array-like of shape \
                (n_samples, n_features)
            The sequences.
        y : None
            Ignored.

        Returns
        -------
        X_tr : ndarray, or list of ndarray
            The transformed sequences in the structure of ``X``.
        """
        # Not TransformerMixin's: its set_output wrapper would put 3-D and ragged output
        # in a DataFrame.
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class PerSequenceScaler(_StructurePreservingTransformer):
    """Standardise every sequence on its own: zero mean and unit variance per channel.

    The convention of the UCR and UEA time-series archives (``z``-normalisation): each
    sequence is centred and scaled with the mean and standard deviation of each of its
    features over its own real time steps, so that series are compared by shape, not by
    level or amplitude. Nothing is learnt in :meth:`fit`; compare :class:`SequenceScaler`,
    which scales every feature with statistics over all sequences.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each sequence's own per-feature mean.
    with_std : bool, default=True
        Divide by each sequence's own per-feature (population) standard deviation. A
        feature that is constant within a sequence is divided by 1 instead.

    Attributes
    ----------
    n_features_in_ : int
        Number of features per time step (the last axis of ``X``).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features, when ``X`` is a pandas DataFrame.

    See Also
    --------
    SequenceScaler : One mean and scale per feature, learnt from all sequences.
    PiecewiseAggregate : Down-sample long sequences by averaging blocks of steps.

    Notes
    -----
    ``X`` may be a 3-D array ``(n_sequences, n_timesteps, n_features)`` with trailing
    all-NaN steps as padding (the statistics use each sequence's real steps only, and padded
    steps stay NaN), a list of 2-D arrays ``(n_timesteps_i, n_features)``, or a 2-D array
    ``(n_samples, n_features)``. In the last form every row is a sequence of one step, whose
    standardised value is 0: per-sequence scaling is meant for sequences. float32 stays
    float32. This is tslearn's ``TimeSeriesScalerMeanVariance(mu=0, std=1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import PerSequenceScaler
    >>> X = [np.array([[1.0], [3.0]]), np.array([[10.0], [20.0], [30.0]])]
    >>> [x.ravel().round(3) for x in PerSequenceScaler().fit_transform(X)]
    [array([-1.,  1.]), array([-1.225,  0.   ,  1.225])]
    """

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _transform_batch(self, batch):
        X, mask = batch.X, batch.mask[:, :, None]
        n_steps = batch.lengths[:, None].astype(np.float64)  # (n_sequences, 1)
        work = np.where(mask, X, 0.0).astype(np.float64)
        mean = work.sum(axis=0) / n_steps  # (n_sequences, n_features)
        if self.with_mean:
            work -= mean
        if self.with_std:
            centred = np.where(mask, X - mean, 0.0)
            var = (centred**2).sum(axis=0) / n_steps
            scale = np.where(_is_constant_feature(var, mean, n_steps), 1.0, np.sqrt(var))
            work /= scale
        values = np.where(mask, work, 0.0).astype(X.dtype, copy=False)
        return values, batch.lengths, batch.n_timesteps_in


class PiecewiseAggregate(_StructurePreservingTransformer):
    """Piecewise aggregate approximation (PAA): down-sample by averaging blocks of steps.

    Each sequence is cut into consecutive segments of time steps and every segment is
    replaced by the mean of its steps, feature by feature. Long sequences become short ones
    that keep their overall shape, which makes a recurrent network over them much faster to
    train (its cost is linear in the number of steps). Nothing is learnt in :meth:`fit`.

    Parameters
    ----------
    factor : int, default=2
        Steps per segment: a sequence of ``L`` steps becomes ``ceil(L / factor)`` steps, the
        last one the mean of the ``L % factor`` steps left over (if any). Ignored when
        ``n_timesteps`` is set.
    n_timesteps : int or None, default=None
        Reduce every sequence to exactly this many steps: segment ``k`` of a sequence of
        ``L`` steps covers steps ``floor(k L / n_timesteps)`` to
        ``floor((k + 1) L / n_timesteps) - 1``, so segment sizes differ by at most one and
        every step is used. Every sequence must have at least ``n_timesteps`` steps.

    Attributes
    ----------
    n_features_in_ : int
        Number of features per time step (the last axis of ``X``).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features, when ``X`` is a pandas DataFrame.

    See Also
    --------
    PerSequenceScaler : Standardise each sequence on its own (usually applied first).

    Notes
    -----
    Padding is respected: a 3-D array's trailing all-NaN steps are not averaged in, and a
    segment holds the mean of the real steps it covers. The output has the structure of the
    input: a 3-D array (padded with NaN after each sequence's new length), a list of 2-D
    arrays, or, for a 2-D array of length-1 sequences, the same 2-D array. float32 stays
    float32. With ``n_timesteps`` this is tslearn's
    ``PiecewiseAggregateApproximation(n_segments)`` (which, unlike this, drops the last
    ``L % n_segments`` steps) without the reconstruction step.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import PiecewiseAggregate
    >>> X = [np.arange(5.0)[:, None], np.arange(4.0)[:, None]]
    >>> [x.ravel() for x in PiecewiseAggregate(factor=2).fit_transform(X)]
    [array([0.5, 2.5, 4. ]), array([0.5, 2.5])]
    >>> PiecewiseAggregate(n_timesteps=2).fit_transform(X)[0].ravel()
    array([0.5, 3. ])
    """

    _parameter_constraints: dict = {
        "factor": [PositiveInt()],
        "n_timesteps": [None, PositiveInt()],
    }

    def __init__(self, factor=2, *, n_timesteps=None):
        self.factor = factor
        self.n_timesteps = n_timesteps

    def _check_params_for(self, batch):
        if self.n_timesteps is not None and batch.lengths.min() < self.n_timesteps:
            i = int(np.argmin(batch.lengths))
            raise ValueError(
                f"n_timesteps={self.n_timesteps}, but sequence {i} of X has only "
                f"{batch.lengths[i]} steps; PAA only shortens sequences. Use factor=... to "
                "shorten each sequence in proportion instead."
            )

    def _bounds(self, L):
        """Start of every segment of a sequence of ``L`` steps."""
        if self.n_timesteps is not None:
            return (np.arange(self.n_timesteps) * L) // self.n_timesteps
        return np.arange(0, L, self.factor)

    def _transform_batch(self, batch):
        X = batch.X
        if self.n_timesteps is not None:
            lengths = np.full(batch.n_sequences, self.n_timesteps, dtype=np.intp)
            T_in = self.n_timesteps
        else:
            lengths = -(-batch.lengths // self.factor)  # ceil
            T_in = -(-batch.n_timesteps_in // self.factor)
        values = np.zeros((int(lengths.max()), batch.n_sequences, batch.n_features),
                          dtype=X.dtype)
        for i, L in enumerate(batch.lengths):
            seq = X[:L, i].astype(np.float64)
            starts = self._bounds(int(L))
            sizes = np.diff(np.append(starts, L))[:, None]
            values[: len(starts), i] = np.add.reduceat(seq, starts, axis=0) / sizes
        return values, lengths, T_in


# Stop scikit-learn wrapping ``transform`` (see SequenceScaler) yet keep set_output: the
# transformers wrap 2-D output themselves.
PerSequenceScaler._sklearn_auto_wrap_output_keys = {"transform"}
PiecewiseAggregate._sklearn_auto_wrap_output_keys = {"transform"}


def _horizons(horizon):
    if isinstance(horizon, Integral) and not isinstance(horizon, bool):
        if horizon < 1:
            raise ValueError(f"horizon must be a positive integer; got {horizon}.")
        return np.array([int(horizon)]), False
    try:
        hs = np.asarray(list(horizon))
    except TypeError:
        raise ValueError(
            f"horizon must be a positive integer or a sequence of them; got {horizon!r}."
        ) from None
    if hs.size == 0 or hs.ndim != 1 or hs.dtype.kind not in "iu":
        raise ValueError(
            f"horizon must be a positive integer or a non-empty sequence of positive "
            f"integers; got {horizon!r}."
        )
    if hs.min() < 1:
        raise ValueError(f"every horizon must be at least 1; got {horizon!r}.")
    return hs.astype(np.intp), True


@validate_params(
    {
        "series": ["array-like"],
        "window": [Integral],
        "horizon": [Integral, "array-like"],
        "stride": [Integral],
        "targets": [None, Integral, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def make_windows(series, window, horizon=1, *, stride=1, targets=None):
    """Cut a series into sliding windows and the values that follow them, for forecasting.

    Window ``i`` covers steps ``s, ..., s + window - 1`` with ``s = i * stride``; its target
    is the value ``horizon`` steps after the window's last step, ``series[s + window - 1 +
    horizon]``. With ``horizon=1`` this is one-step-ahead forecasting.

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        One time series; a 1-D series is read as one feature. NaN or infinity is a
        ``ValueError`` (in a 3-D array, trailing NaN steps would be read as padding).
    window : int
        Number of time steps in each window (at least 1).
    horizon : int or sequence of int, default=1
        How many steps after the window's last step the target lies (at least 1). A
        sequence such as ``range(1, 4)`` asks for several horizons at once (direct
        multi-step forecasting): ``y`` then has one column per horizon and target feature,
        ordered horizon-major (all targets at ``horizon[0]``, then at ``horizon[1]``, ...).
    stride : int, default=1
        Steps between the starts of consecutive windows.
    targets : int, sequence of int or None, default=None
        Column(s) of ``series`` to forecast. None forecasts every feature. The windows
        always contain every feature; to forecast from other features only, slice
        ``X[:, :, cols]`` afterwards.

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        The windows, a 3-D batch of equal-length sequences ready for a many-to-one estimator
        such as :class:`~skrnn.LSTMRegressor`. ``n_windows = (n_timesteps - window -
        max(horizon)) // stride + 1``.
    y : ndarray of shape (n_windows,) or (n_windows, n_outputs)
        1-D when ``horizon`` is an int and there is one target feature (a 1-D series, or
        ``targets`` an int); otherwise ``n_outputs = n_horizons * n_targets``.

    Raises
    ------
    ValueError
        If ``window``, ``horizon`` or ``stride`` is below 1, a target column is out of
        range, the series has NaN or infinity, or the series is too short for a single
        window and its target (it needs ``window + max(horizon)`` steps).

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import make_windows
    >>> X, y = make_windows(np.arange(6.0), window=3, horizon=1)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> y
    array([3., 4., 5.])
    >>> X, y = make_windows(np.arange(6.0), window=2, horizon=[1, 2], stride=2)
    >>> X[:, :, 0], y
    (array([[0., 1.],
           [2., 3.]]), array([[2., 3.],
           [4., 5.]]))
    """
    if window < 1:
        raise ValueError(f"window must be a positive integer; got {window}.")
    if stride < 1:
        raise ValueError(f"stride must be a positive integer; got {stride}.")
    hs, multi_horizon = _horizons(horizon)
    arr = check_array(
        series, ensure_2d=False, dtype=(np.float64, np.float32), input_name="series"
    )
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:  # pragma: no cover - check_array rejects ndim > 2
        raise ValueError(f"series must be 1-D or 2-D; got {arr.ndim} dimensions.")
    n_timesteps, n_features = arr.shape
    needed = window + int(hs.max())
    if n_timesteps < needed:
        raise ValueError(
            f"The series has {n_timesteps} time steps; window={window} and "
            f"horizon={int(hs.max())} need at least {needed} (window + horizon)."
        )
    if targets is None:
        cols, single_target = np.arange(n_features), n_features == 1
    elif isinstance(targets, Integral):
        cols, single_target = np.array([int(targets)]), True
    else:
        cols, single_target = np.asarray(list(targets), dtype=np.intp), False
        if cols.ndim != 1 or cols.size == 0:
            raise ValueError(f"targets must be an int or a non-empty list of ints; "
                             f"got {targets!r}.")
    if cols.min() < -n_features or cols.max() >= n_features:
        raise ValueError(
            f"targets {targets!r} out of range for a series with {n_features} feature(s)."
        )
    n_windows = (n_timesteps - needed) // stride + 1
    starts = np.arange(n_windows) * stride
    steps = starts[:, None] + np.arange(window)[None, :]  # (n_windows, window)
    X = arr[steps]  # fancy indexing copies: contiguous and writable
    target_steps = starts[:, None] + (window - 1) + hs[None, :]  # (n_windows, n_horizons)
    y = arr[target_steps][:, :, cols]  # (n_windows, n_horizons, n_targets)
    if single_target and not multi_horizon:
        return X, y[:, 0, 0]
    return X, y.reshape(n_windows, -1)
