"""The input contract: raw ``X`` (and per-step ``y``) to a padded time-major batch and back.

This is the only module that inspects raw user input. Everything downstream works on a
:class:`SequenceBatch`: a zero-padded, time-major float array of shape
``(n_timesteps, n_sequences, n_features)`` plus each sequence's ``lengths``.

Three forms of ``X`` are accepted (DESIGN section 2):

1. a 3-D array-like ``(n_sequences, n_timesteps, n_features)``; time steps at the end of a
   sequence that are entirely NaN are padding (tslearn's convention);
2. a list (or 1-D object array) of 2-D arrays ``(n_timesteps_i, n_features)``;
3. a 2-D array-like ``(n_samples, n_features)``, read as a batch of length-1 sequences, exactly
   scikit-learn's contract. A batch of univariate series must therefore be passed as
   ``X[:, :, None]``.
"""

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_feature_names, validate_data

__all__ = [
    "SequenceBatch",
    "check_sequences",
    "check_step_targets",
    "length_chunks",
    "restore_structure",
    "rows_to_structure",
    "step_target_rows",
]

_FLOAT_DTYPES = (np.float64, np.float32)
#: A 3-D array with one time step and at least this many features (more than sequences)
#: gets the channel-first warning; fewer features are a plausible batch of single steps.
_CHANNEL_FIRST_MIN_FEATURES = 10


class SequenceBatch:
    """A padded, time-major batch of sequences.

    Parameters
    ----------
    X : ndarray of shape (n_timesteps, n_sequences, n_features) or None
        Zero at padded steps; float32 or float64. None when ``seqs`` is given: the padded
        array is then built on first access of :attr:`X`, so that code which only takes
        sub-batches (prediction in chunks) never pads every sequence to the longest.
    lengths : ndarray of shape (n_sequences,), dtype intp
        Number of real steps of each sequence (at least 1).
    kind : {"2d", "3d", "ragged"}
        The form the caller used; :func:`restore_structure` gives per-step outputs back in it.
    n_timesteps_in : int
        Length of the time axis of a 3-D input (padding included); for other forms the
        longest sequence.
    seqs : list of ndarray of shape (n_timesteps_i, n_features), default=None
        The validated sequences of a ragged input, all of one float dtype.
    """

    __slots__ = ("_X", "lengths", "kind", "n_timesteps_in", "_seqs")

    def __init__(self, X, lengths, kind, n_timesteps_in, seqs=None):
        if X is None and seqs is None:
            raise ValueError("SequenceBatch needs X or seqs.")
        self._X = X
        self.lengths = lengths
        self.kind = kind
        self.n_timesteps_in = n_timesteps_in
        self._seqs = seqs

    @property
    def X(self):
        """ndarray of shape (n_timesteps, n_sequences, n_features), zero at padded steps."""
        if self._X is None:
            self._X = _pad(self._seqs, np.arange(len(self._seqs)), self.lengths)
        return self._X

    @property
    def dtype(self):
        return self._X.dtype if self._X is not None else self._seqs[0].dtype

    @property
    def n_sequences(self):
        return len(self.lengths)

    @property
    def n_timesteps(self):
        return self._X.shape[0] if self._X is not None else int(self.lengths.max())

    @property
    def n_features(self):
        return self._X.shape[2] if self._X is not None else self._seqs[0].shape[1]

    @property
    def equal_lengths(self):
        return bool(np.all(self.lengths == self.n_timesteps))

    @property
    def mask(self):
        """Boolean array of shape (n_timesteps, n_sequences): True at real steps."""
        return np.arange(self.n_timesteps)[:, None] < self.lengths[None, :]

    def take(self, indices):
        """Return the sub-batch of the given sequences, trimmed to its longest sequence.

        A run of consecutive indices (minibatches without shuffling) gives a view, not a
        copy; callers only read the sub-batch.
        """
        indices = np.asarray(indices)
        lengths = self.lengths[indices]
        T = int(lengths.max())
        if self._X is None:  # pad only the sequences asked for
            return SequenceBatch(_pad(self._seqs, indices, lengths), lengths, self.kind,
                                 self.n_timesteps_in)
        first = int(indices[0])
        if indices.ndim == 1 and np.array_equal(indices, np.arange(first, first + len(indices))):
            return SequenceBatch(self.X[:T, first:first + len(indices)], lengths, self.kind,
                                 self.n_timesteps_in)
        return SequenceBatch(self.X[:T, indices], lengths, self.kind, self.n_timesteps_in)


def _pad(seqs, indices, lengths):
    """Zero-padded time-major array of the sequences ``seqs[indices]``."""
    first = seqs[int(indices[0])]
    out = np.zeros((int(lengths.max()), len(indices), first.shape[1]), dtype=first.dtype)
    for j, i in enumerate(indices):
        out[: lengths[j], j] = seqs[int(i)]
    return out


def length_chunks(lengths, max_padded_steps=2**17, max_sequences=1024):
    """Split sequences into chunks of similar length with bounded padded size.

    The sequences are sorted by length and cut greedily so that every chunk holds at most
    ``max_sequences`` sequences and, once padded to its longest member, at most
    ``max_padded_steps`` time steps in total. A sequence longer than ``max_padded_steps``
    forms a chunk on its own. The memory and time of a forward pass over one chunk are then
    bounded by the budget, whatever the mix of lengths: a few long sequences are never
    padded together with many short ones.

    Parameters
    ----------
    lengths : array-like of shape (n_sequences,)
        Real steps of each sequence.
    max_padded_steps : int, default=2**17
        Budget of ``n_chunk_sequences * longest_length`` per chunk.
    max_sequences : int, default=1024
        Most sequences per chunk.

    Returns
    -------
    chunks : list of ndarray of dtype intp
        Indices into ``lengths``; every index appears in exactly one chunk, and within
        and across chunks the lengths do not decrease.
    """
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    chunks, start, n = [], 0, len(order)
    while start < n:
        # Sorted ascending, so a chunk's padded size is its size times its last length;
        # take the most sequences whose padded size stays within the budget (at least 1).
        stop = min(start + max_sequences, n)
        sizes = np.arange(1, stop - start + 1) * lengths[order[start:stop]]
        fits = int(np.count_nonzero(sizes <= max_padded_steps))
        stop = start + max(fits, 1)
        chunks.append(order[start:stop])
        start = stop
    return chunks


def _estimator_name(estimator):
    return type(estimator).__name__ if estimator is not None else "the estimator"


def _unmask(a, what):
    """A masked array as a float array with NaN at its masked entries.

    The mask means "missing", and missing is NaN in the input contract: whole masked time
    steps at the end of a sequence of a 3-D array are padding; any other masked value is an
    error that names its sequence and step, as NaN would be.
    """
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{what} is a masked array of dtype {a.dtype}; skrnn needs numbers.")
    dtype = a.dtype if a.dtype in _FLOAT_DTYPES else np.float64
    return np.ma.filled(a.astype(dtype), np.nan)


def _cast(arr, dtype, what):
    """``arr.astype(dtype)``, raising where a finite value overflows (float64 to float32)."""
    dtype = np.dtype(dtype)
    if arr.dtype == dtype:
        return arr
    with np.errstate(over="ignore"):
        out = arr.astype(dtype)
    if dtype.itemsize < arr.dtype.itemsize:
        overflow = np.isinf(out) & np.isfinite(arr)
        if overflow.any():
            where = np.unravel_index(int(np.argmax(overflow)), arr.shape)
            raise ValueError(
                f"{what} has the value {arr[where]:.4g} (at index {tuple(map(int, where))}), "
                f"too large for {dtype.name} (largest {np.finfo(dtype).max:.4g}), the dtype of "
                "the model: scale the input, or fit on float64 data."
            )
    return out


def _as_float_array(a, what):
    """Convert one array-like to a float array, with clear errors for bad dtypes."""
    if np.ma.isMaskedArray(a):
        return _unmask(a, what)
    if sp.issparse(a):
        raise TypeError(
            f"{what} is a sparse matrix; skrnn needs dense sequences. Convert it with "
            "X.toarray() if it fits in memory."
        )
    arr = np.asarray(a)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {what} has dtype {arr.dtype}.")
    if arr.dtype.kind in "fiub":
        return arr if arr.dtype in _FLOAT_DTYPES else arr.astype(np.float64)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} must contain numbers; got dtype {arr.dtype} that cannot be converted "
            f"to float ({exc})."
        ) from None
    if np.iscomplexobj(arr):  # pragma: no cover - astype(float) rejects complex objects
        raise ValueError(f"Complex data not supported: {what}.")
    return arr


def _check_finite_steps(seq, index):
    """Raise a ValueError naming the sequence and step if ``seq`` has NaN or inf."""
    bad = ~np.isfinite(seq)
    if bad.any():
        step = int(np.nonzero(bad.any(axis=tuple(range(1, seq.ndim))))[0][0])
        kind = "NaN" if np.isnan(seq[step]).any() else "infinity"
        raise ValueError(
            f"Input X contains {kind} in sequence {index} at step {step}. NaN is only "
            "allowed as padding: whole time steps at the end of a sequence in a 3-D array."
        )


def _is_ragged_list(X):
    """True if X is a list/tuple/object array of per-sequence 2-D arrays."""
    if isinstance(X, np.ndarray):
        return X.dtype == object and X.ndim == 1 and X.size > 0 and all(
            np.ndim(x) == 2 for x in X
        )
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return any(np.ndim(x) >= 2 or sp.issparse(x) for x in X)
    return False


def _reject_tokens_and_univariate_ragged(X):
    """Clear errors for lists of 1-D items: raw tokens, or univariate series."""
    if isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object):
        items = list(X)
        for i, x in enumerate(items[:1] if items and np.ndim(items[0]) == 1 else ()):
            values = x if isinstance(x, (list, tuple)) else np.ravel(x).tolist() \
                if isinstance(x, np.ndarray) and x.dtype.kind in "OUS" else ()
            if any(isinstance(v, (str, bytes)) for v in values):
                raise TypeError(
                    f"Sequence {i} of X holds text ({values[0]!r}, ...), not numbers. X must "
                    "hold numeric features for every time step: a list of 2-D arrays "
                    "(n_timesteps_i, n_features). Encode tokens as numbers first, for "
                    "example one-hot vectors or embeddings."
                )
        if items and all(np.ndim(x) == 1 for x in items):
            sizes = {np.shape(x)[0] for x in items}
            if len(sizes) > 1:
                raise ValueError(
                    "X is a list of 1-D arrays of different lengths. If these are univariate "
                    "series, add a feature axis: X = [np.asarray(s)[:, None] for s in X]. "
                    "Each sequence must be 2-D, (n_timesteps_i, n_features)."
                )


def _warn_if_channel_first(shape):
    n, T, d = shape
    if T == 1 and d > n and d >= _CHANNEL_FIRST_MIN_FEATURES:
        warnings.warn(
            f"X has shape {shape}: it reads as {n} sequences of a single time step with {d} "
            "features each, so the network has no recurrence. If X is in the channel-first "
            "layout of sktime and aeon, (n_instances, n_channels, n_timepoints), pass "
            "X.transpose(0, 2, 1) to get (n_sequences, n_timesteps, n_features).",
            UserWarning, stacklevel=4,
        )


def _is_nested_frame(X):
    """True for a DataFrame whose cells hold whole series (sktime's "nested_univ")."""
    if not (hasattr(X, "columns") and hasattr(X, "to_numpy") and getattr(X, "ndim", 0) == 2):
        return False
    if X.shape[0] == 0 or X.shape[1] == 0:
        return False
    first = X.iloc[0, 0] if hasattr(X, "iloc") else X.to_numpy()[0, 0]
    return not isinstance(first, (str, bytes)) and np.ndim(first) >= 1


def _nested_frame_to_list(X):
    """A nested DataFrame (one row per sequence, one column per channel, a series in each
    cell) as a list of 2-D arrays ``(n_timesteps_i, n_channels)``."""
    cells = X.to_numpy()
    seqs = []
    for i, row in enumerate(cells):
        if any(isinstance(c, (str, bytes)) or np.ndim(c) != 1 for c in row):
            raise ValueError(
                f"Row {i} of the nested DataFrame X has a cell that is not a 1-D series; "
                "every cell must hold one channel of one sequence. Convert other data "
                "with [np.column_stack([np.asarray(c) for c in row]) for row in "
                "X.to_numpy()]."
            )
        sizes = [len(c) for c in row]
        if len(set(sizes)) > 1:
            raise ValueError(
                f"Row {i} of the nested DataFrame X has channels of different lengths "
                f"{dict(zip(map(str, X.columns), sizes))}; the channels of one sequence "
                "must have the same number of time steps."
            )
        seqs.append(np.column_stack([np.asarray(c) for c in row]))
    return seqs


def _set_or_check_n_features(estimator, n_features, reset):
    if estimator is None:
        return
    if reset:
        estimator.n_features_in_ = n_features
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {_estimator_name(estimator)} is expecting "
            f"{expected} features as input."
        )


def _from_2d(estimator, X, reset, dtype):
    kwargs = dict(dtype=dtype, ensure_all_finite=False, reset=reset)
    if estimator is not None:
        X = validate_data(estimator, X, **kwargs)
    else:
        from sklearn.utils import check_array

        X = check_array(X, dtype=dtype, ensure_all_finite=False)
    for i in np.nonzero(~np.isfinite(X).all(axis=1))[0][:1]:
        _check_finite_steps(X[i][None, :], int(i))
    n = X.shape[0]
    return SequenceBatch(X[None, :, :], np.ones(n, dtype=np.intp), "2d", 1)


def _from_3d(X, what="X"):
    n, T, d = X.shape
    if n == 0 or T == 0 or d == 0:
        raise ValueError(
            f"Found array with shape {X.shape} (n_sequences, n_timesteps, n_features): "
            "a minimum of 1 sequence, 1 time step and 1 feature is required."
        )
    step_is_nan = np.isnan(X).all(axis=2)  # (n, T) whole step NaN
    # Padding = the trailing run of all-NaN steps of each sequence.
    real = ~step_is_nan
    any_real = real.any(axis=1)
    lengths = np.where(any_real, T - np.argmax(real[:, ::-1], axis=1), 0).astype(np.intp)
    for i in np.nonzero(lengths == 0)[0][:1]:
        raise ValueError(
            f"Sequence {i} of {what} has length 0 (every time step is NaN padding); each "
            "sequence needs at least one real time step."
        )
    mask = np.arange(T)[None, :] < lengths[:, None]
    finite = np.isfinite(X).all(axis=2) | ~mask
    if not finite.all():
        i = int(np.nonzero(~finite.all(axis=1))[0][0])
        _check_finite_steps(X[i, : lengths[i]], i)
    Xt = np.where(mask.T[:, :, None], X.transpose(1, 0, 2), 0).astype(X.dtype, copy=False)
    return SequenceBatch(np.ascontiguousarray(Xt), lengths, "3d", T)


def _from_ragged(X, dtype, what="X"):
    seqs = []
    for i, s in enumerate(X):
        if sp.issparse(s):
            raise TypeError(f"Sequence {i} of {what} is sparse; skrnn needs dense sequences.")
        a = _as_float_array(s, f"Sequence {i} of {what}")
        if a.ndim != 2:
            raise ValueError(
                f"Sequence {i} of {what} has {a.ndim} dimension(s); every sequence in a list "
                "must be a 2-D array (n_timesteps_i, n_features). For univariate series add a "
                "feature axis: s[:, None]."
            )
        if a.shape[0] == 0:
            raise ValueError(f"Sequence {i} of {what} has length 0; each sequence needs at "
                             "least one time step.")
        if a.shape[1] == 0:
            raise ValueError(f"Sequence {i} of {what} has 0 features; at least 1 is required.")
        if seqs and a.shape[1] != seqs[0].shape[1]:
            raise ValueError(
                f"Sequence {i} of {what} has {a.shape[1]} features but sequence 0 has "
                f"{seqs[0].shape[1]}; all sequences must have the same number of features."
            )
        _check_finite_steps(a, i)
        seqs.append(a)
    out_dtype = _pick_dtype(np.result_type(*[s.dtype for s in seqs]), dtype)
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.intp)
    seqs = [_cast(s, out_dtype, f"Sequence {i} of {what}") for i, s in enumerate(seqs)]
    return SequenceBatch(None, lengths, "ragged", int(lengths.max()), seqs=seqs)


def _pick_dtype(found, dtype):
    allowed = dtype if isinstance(dtype, (tuple, list)) else (dtype,)
    return found if found in allowed else np.dtype(allowed[0])


def check_sequences(X, *, estimator=None, reset=True, dtype=_FLOAT_DTYPES):
    """Canonicalise ``X`` into a :class:`SequenceBatch`, validating it on the way.

    Parameters
    ----------
    X : array-like of shape (n_sequences, n_timesteps, n_features), list of arrays of shape \
            (n_timesteps_i, n_features), or array-like of shape (n_samples, n_features)
        The sequences. 2-D input is a batch of length-1 sequences.
    estimator : estimator instance, default=None
        If given, ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame) is set on
        it when ``reset`` is True and checked against it otherwise.
    reset : bool, default=True
        Whether this call fits (sets) or checks the feature count.
    dtype : dtype or tuple of dtypes, default=(float64, float32)
        Accepted float dtypes; other dtypes are converted to the first.

    Returns
    -------
    batch : SequenceBatch
        Time-major, zero-padded batch with ``lengths``.

    Raises
    ------
    ValueError
        Empty input, zero-length sequences, NaN or infinity inside a sequence (the message
        names the sequence and step), mixed feature counts, more than 3 dimensions, complex
        data, a list of 1-D series of different lengths, or a feature count that differs
        from the fitted one.
    TypeError
        Sparse input or data that is not numeric.
    """
    if X is None:
        raise ValueError(
            f"{_estimator_name(estimator)} requires X to be passed, but X is None."
        )
    if sp.issparse(X):
        if estimator is not None:  # scikit-learn's own wording for sparse input
            validate_data(estimator, X, reset=reset, accept_sparse=False)
        raise TypeError("A sparse matrix was passed, but dense data is required.")
    if np.ma.isMaskedArray(X):
        X = _unmask(X, "X")
    names_from = X
    if _is_nested_frame(X):
        X = _nested_frame_to_list(X)
    _reject_tokens_and_univariate_ragged(X)
    if _is_ragged_list(X):
        if estimator is not None:
            _check_feature_names(estimator, names_from, reset=reset)
        batch = _from_ragged(X, dtype)
        _set_or_check_n_features(estimator, batch.n_features, reset)
        return batch
    if hasattr(X, "ndim") and hasattr(X, "shape"):  # arrays, DataFrames
        ndim = X.ndim
    elif hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        ndim = np.asarray(X).ndim
    else:
        raise TypeError(
            f"X must be an array-like or a list of 2-D arrays; got {type(X).__name__}."
        )
    if ndim == 3:
        arr = _as_float_array(X, "X")
        arr = _cast(arr, _pick_dtype(arr.dtype, dtype), "X")
        _warn_if_channel_first(arr.shape)
        if estimator is not None:
            _check_feature_names(estimator, arr, reset=reset)
        batch = _from_3d(arr)
        _set_or_check_n_features(estimator, batch.n_features, reset)
        return batch
    if ndim > 3:
        raise ValueError(
            f"X has {ndim} dimensions; expected a 3-D array (n_sequences, n_timesteps, "
            "n_features), a list of 2-D arrays, or a 2-D array (n_samples, n_features)."
        )
    return _from_2d(estimator, X, reset, list(dtype) if isinstance(dtype, tuple) else dtype)


def check_step_targets(y, batch, *, numeric, allow_multi_output):
    """Validate per-step targets against a batch and pad them time-major.

    Parameters
    ----------
    y : array-like or list of array-likes
        For 3-D ``X``: ``(n_sequences, n_timesteps[, n_outputs])``, NaN allowed only at the
        padded steps of ``X``; for ragged ``X``: a list of ``(n_timesteps_i[, n_outputs])``;
        for 2-D ``X``: ``(n_samples[, n_outputs])``.
    batch : SequenceBatch
        The validated input.
    numeric : bool
        Whether targets must be numbers (regression) or may be any labels (tagging).
    allow_multi_output : bool
        Whether a trailing output axis is accepted.

    Returns
    -------
    Y : ndarray of shape (n_timesteps, n_sequences) or (n_timesteps, n_sequences, n_outputs)
        Targets at real steps; padded steps hold the target of step 0 of the same sequence
        (a valid value that the masked losses ignore).
    """
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    T, n = batch.n_timesteps, batch.n_sequences
    if _is_target_list(y, batch):
        items = _check_target_sequences(y, batch, allow_multi_output)
        dtype = np.result_type(*[s.dtype for s in items])
        tail = items[0].shape[1:]
        Y = np.empty((T, n) + tail, dtype=dtype)
        for i, s in enumerate(items):
            Y[: s.shape[0], i] = s
            Y[s.shape[0]:, i] = s[0]
        if numeric:
            Y = _as_numeric(Y)
    else:
        Y = np.asarray(y)
        if batch.kind == "2d":
            if Y.shape[0] != n:
                raise ValueError(
                    f"X has {n} samples but y has {Y.shape[0]}; they must match."
                )
            Y = Y[None]
        else:
            if Y.ndim < 2 or Y.shape[0] != n or Y.shape[1] != batch.n_timesteps_in:
                raise ValueError(
                    f"For 3-D X of shape ({n}, {batch.n_timesteps_in}, {batch.n_features}) y "
                    f"must have shape ({n}, {batch.n_timesteps_in}"
                    + (", [n_outputs])" if allow_multi_output else ")")
                    + f"; got {Y.shape}."
                )
            Y = np.swapaxes(Y, 0, 1)[:T]
        max_ndim = 3 if allow_multi_output else 2
        if Y.ndim > max_ndim:
            raise ValueError(f"y has too many dimensions ({Y.ndim - 1 + (batch.kind != '2d')}).")
        Y = Y.copy()
        if numeric:
            Y = _as_numeric(Y)
        if Y.dtype.kind == "f" and batch.kind == "3d":  # NaN targets at padded steps
            pad = ~batch.mask
            Y[pad] = Y[0][np.nonzero(pad)[1]]
    if Y.dtype.kind == "f":
        _check_finite_targets(np.swapaxes(Y, 0, 1), batch.mask.T)
    return Y


def _as_numeric(Y):
    """Regression targets as numbers: numeric dtypes kept (Y itself), others to float64."""
    if Y.dtype.kind in "fiub":
        return Y
    try:
        return Y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must be numeric for regression.") from None


def _check_finite_targets(Y, real):
    """Raise a ValueError naming the first sequence and step where ``Y`` is not finite.

    ``Y`` is sequence-major, ``(n_sequences, n_timesteps[, n_outputs])``; ``real`` (the same
    leading shape) marks the real steps, the only ones checked.
    """
    bad = ~np.isfinite(Y)
    if bad.ndim == 3:
        bad = bad.any(axis=2)
    bad &= real
    if bad.any():
        i, t = (int(v) for v in np.argwhere(bad)[0])
        _raise_non_finite_target(Y[i, t], i, t)


def _raise_non_finite_target(value, i, t):
    kind = "NaN" if np.isnan(value).any() else "infinity"
    raise ValueError(
        f"Input y contains {kind} at step {t} of sequence {i}, a real step of X; every "
        "real step needs a finite target. Padding is marked in X (trailing all-NaN steps "
        "of a 3-D array), and y is ignored there.")


def _is_target_list(y, batch):
    """Whether ``y`` is one target array per sequence (not a padded array).

    A list of per-sequence targets goes with a padded 3-D X too, whether or not its lengths
    differ; only rows of the full padded length are read as a padded array.
    """
    return batch.kind == "ragged" or (
        isinstance(y, (list, tuple)) and batch.kind == "3d"
        and len(y) == batch.n_sequences and all(np.ndim(s) >= 1 for s in y)
        and not all(np.shape(s)[0] == batch.n_timesteps_in for s in y)
    )


def _check_target_sequences(y, batch, allow_multi_output):
    """Validate a list of per-sequence targets against the batch; return them as arrays."""
    n = batch.n_sequences
    if len(y) != n:
        raise ValueError(
            f"X has {n} sequences but y has {len(y)} label sequences; they must match."
        )
    items = [np.asarray(s) for s in y]
    base_ndim = items[0].ndim
    for i, s in enumerate(items):
        if s.ndim not in (1, 2) or s.ndim != base_ndim:
            raise ValueError(
                f"Target sequence {i} has {s.ndim} dimension(s); expected 1-D "
                "(n_timesteps_i,)" + (" or 2-D (n_timesteps_i, n_outputs)" if
                                      allow_multi_output else "") + " for every sequence."
            )
        if s.shape[0] != batch.lengths[i]:
            raise ValueError(
                f"Target sequence {i} has {s.shape[0]} steps but sequence {i} of X has "
                f"{batch.lengths[i]}; every sequence needs one target per time step."
            )
    if base_ndim == 2 and not allow_multi_output:
        raise ValueError("Each target sequence must be 1-D: one label per time step.")
    tail = items[0].shape[1:]
    if any(s.shape[1:] != tail for s in items):
        raise ValueError("All target sequences must have the same number of outputs.")
    return items


def step_target_rows(y, batch, *, allow_multi_output, numeric=False):
    """The targets of every real step, sequence after sequence, as one array.

    For a list of per-sequence targets nothing of the padded size ``(n_timesteps,
    n_sequences)`` is built; a padded array ``y`` is read through :func:`check_step_targets`.
    ``numeric`` as in :func:`check_step_targets`.

    Returns
    -------
    Y : ndarray of shape (n_real_steps,) or (n_real_steps, n_outputs)
        Sequence 0's steps, then sequence 1's, ...
    """
    if y is not None and _is_target_list(y, batch):
        items = _check_target_sequences(y, batch, allow_multi_output)
        Y = np.concatenate(items)
        if numeric:
            Y = _as_numeric(Y)
        if Y.dtype.kind == "f" and not np.isfinite(Y).all():
            for i, s in enumerate(np.split(Y, np.cumsum(batch.lengths)[:-1])):
                bad = (~np.isfinite(s)).reshape(len(s), -1).any(axis=1)
                if bad.any():
                    t = int(np.argmax(bad))
                    _raise_non_finite_target(s[t], i, t)
        return Y
    Y = check_step_targets(y, batch, numeric=numeric, allow_multi_output=allow_multi_output)
    return np.swapaxes(Y, 0, 1)[batch.mask.T]


def rows_to_structure(rows, batch, fill_value=np.nan):
    """Per-sequence arrays back into the structure of the caller's ``X``.

    The per-sequence twin of :func:`restore_structure`, for outputs kept sequence by
    sequence (``BaseRecurrentNetwork._step_rows``): nothing of the padded size is built
    unless the caller's ``X`` was a padded 3-D array.

    Parameters
    ----------
    rows : list of ndarray of shape (n_timesteps_i, ...)
        One array per sequence of ``batch``.
    batch : SequenceBatch
    fill_value : scalar or None, default=nan
        Value at padded steps of a 3-D input; None gives an object array.

    Returns
    -------
    out : ndarray or list of ndarray
        ``(n_samples, ...)`` for 2-D input, ``(n_sequences, n_timesteps, ...)`` for 3-D
        input, ``rows`` itself for ragged input.
    """
    if batch.kind == "2d":  # every sequence has one step
        return np.concatenate(rows)
    if batch.kind == "ragged":
        return rows
    if batch.equal_lengths and batch.lengths[0] == batch.n_timesteps_in:
        return np.stack(rows)
    dtype = rows[0].dtype
    if fill_value is None:
        dtype = object
    elif isinstance(fill_value, float) and dtype.kind not in "fc":
        dtype = np.float64
    out = np.full((batch.n_sequences, batch.n_timesteps_in) + rows[0].shape[1:],
                  fill_value, dtype=dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def restore_structure(values, batch, fill_value=np.nan):
    """Turn time-major per-step values back into the structure of the caller's ``X``.

    Parameters
    ----------
    values : ndarray of shape (n_timesteps, n_sequences, ...)
        Per-step values in the batch's layout.
    batch : SequenceBatch
        The batch they were computed from.
    fill_value : scalar, default=nan
        Value written at padded steps of a 3-D input.

    Returns
    -------
    out : ndarray or list of ndarray
        ``(n_samples, ...)`` for 2-D input, ``(n_sequences, n_timesteps, ...)`` for 3-D input
        (padded steps hold ``fill_value``), a list of ``(n_timesteps_i, ...)`` for ragged input.
    """
    if batch.kind == "2d":
        return values[0]
    if batch.kind == "ragged":
        return [values[: L, i].copy() for i, L in enumerate(batch.lengths)]
    T_in = batch.n_timesteps_in
    shape = (batch.n_sequences, T_in) + values.shape[2:]
    if batch.equal_lengths and values.shape[0] == T_in:  # no padding: nothing to fill
        return np.ascontiguousarray(np.swapaxes(values, 0, 1))
    out_dtype = values.dtype
    if isinstance(fill_value, float) and np.isnan(fill_value) and values.dtype.kind != "f":
        out_dtype = object if values.dtype.kind in "OUS" else np.float64
    out = np.full(shape, fill_value, dtype=out_dtype)
    mask = batch.mask.T
    out[:, : values.shape[0]][mask] = np.swapaxes(values, 0, 1)[mask]
    return out


def check_lengths_argument(n, name="n_steps"):
    """Validate a positive integer argument (used by generation APIs)."""
    if not isinstance(n, Integral) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}.")
    return int(n)


def inactive_steps(lengths, T):
    """Per step, a boolean array of sequences past their end, or None if none are.

    Parameters
    ----------
    lengths : ndarray of shape (n_sequences,)
    T : int
        Steps of the padded batch.

    Returns
    -------
    inactive : list of length T of (ndarray of bool of shape (n_sequences,) or None)
    """
    min_len = int(lengths.min())
    steps = [None] * min(min_len, T)
    for t in range(min_len, T):
        steps.append(lengths <= t)
    return steps


def zero_padding(a, inactive):
    """Zero the padded steps of a time-major array ``(T, n, ...)`` in place."""
    for t, inact in enumerate(inactive):
        if inact is not None:
            a[t, inact] = 0
