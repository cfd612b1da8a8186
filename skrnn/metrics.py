"""Flat (per-step) metrics and scorers for per-step estimators.

A tagger or a per-step regressor predicts one value for every real time step, in the
structure of its input: a 2-D array ``(n_sequences, n_timesteps)`` for 3-D input (padded steps
NaN or None), a list of 1-D arrays for ragged input, or a 1-D array for 2-D input. These
metrics flatten ``y_true`` and ``y_pred`` over real steps and call the scikit-learn metric of
the same name, so per-step scores can be used with ``cross_validate``, ``GridSearchCV`` and
``make_scorer``::

    from sklearn.model_selection import cross_validate
    from skrnn.metrics import FLAT_SCORERS
    cross_validate(GRUTagger(), X, y, scoring={"acc": FLAT_SCORERS["accuracy"],
                                               "f1": FLAT_SCORERS["f1_macro"]})

scikit-learn's own scorer names (``scoring="accuracy"``) do not work on per-step labels:
they fail with "unknown is not supported" or "multiclass-multioutput is not supported", or,
for equal-length 0/1 tags, compute the fraction of whole sequences tagged right. Use the
scorers of :data:`FLAT_SCORERS` under the same names.

The flat metrics accept ``y_true`` and ``y_pred`` in one structure, or a list of per-sequence
labels with predictions padded to ``(n_sequences, n_timesteps)`` (``predict`` on a NaN-padded
3-D ``X``). Padding is NaN or None, and ``""`` in ``y_true`` where the prediction is padding.
"""

import numpy as np
from sklearn import metrics as _sk
from sklearn.metrics import make_scorer

__all__ = [
    "FLAT_SCORERS",
    "flatten_steps",
    "flat_accuracy_score",
    "flat_classification_report",
    "flat_f1_score",
    "flat_mean_squared_error",
    "flat_precision_score",
    "flat_r2_score",
    "flat_recall_score",
]


def _is_padding(values):
    """Steps that hold no label: NaN or None (all outputs of a row, for multi-output)."""
    if values.dtype.kind == "f":
        return np.isnan(values) if values.ndim == 1 else np.isnan(values).all(axis=1)
    if values.dtype == object:
        missing = np.fromiter((v is None or (isinstance(v, float) and np.isnan(v))
                               for v in values.reshape(len(values), -1)[:, 0]), bool,
                              len(values))
        return missing
    return np.zeros(len(values), dtype=bool)


def _is_sequence_list(y):
    return isinstance(y, (list, tuple)) and len(y) > 0 and np.ndim(y[0]) >= 1


def _as_sequence_list(padded, lengths, name):
    """Rows of a padded ``(n_sequences, n_timesteps, ...)`` array cut to ``lengths``."""
    arr = np.asarray(padded)
    if arr.ndim < 2 or arr.shape[0] != len(lengths) or arr.shape[1] < max(lengths):
        raise ValueError(
            f"{name} has shape {arr.shape}, which does not hold the other argument's "
            f"{len(lengths)} sequences of lengths up to {max(lengths)}; y_true and y_pred "
            "must describe the same sequences.")
    return [arr[i, :L] for i, L in enumerate(lengths)], [arr[i, L:] for i, L in
                                                         enumerate(lengths)]


def _flatten(y, name):
    if _is_sequence_list(y):
        lengths = [len(s) for s in y]
        return np.concatenate([np.asarray(s) for s in y]), lengths
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError(f"{name} must be per-step labels or values, got a scalar.")
    if y.ndim == 1:
        return y, None
    return y.reshape((-1,) + y.shape[2:]), y.shape[:2]


def flatten_steps(y_true, y_pred):
    """Flatten per-step targets and predictions over their real steps.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_sequences, n_timesteps[, n_outputs]), list of \
            arrays of shape (n_timesteps_i[, n_outputs]), or array-like of shape (n_samples,)
        Both in one structure, or one a list of sequences and the other padded to
        ``(n_sequences, n_timesteps)`` (as ``predict`` returns for a padded 3-D ``X``).
        Steps where ``y_true`` is NaN or None are padding and are dropped; so are steps
        where ``y_pred`` is NaN or None (padding of ``X``) and ``y_true`` holds ``""``, a
        common padding label for string tags.

    Returns
    -------
    y_true_flat, y_pred_flat : ndarray of shape (n_real_steps[, n_outputs])
    """
    if _is_sequence_list(y_true) != _is_sequence_list(y_pred):
        if _is_sequence_list(y_true):
            lengths = [len(s) for s in y_true]
            y_pred, beyond = _as_sequence_list(y_pred, lengths, "y_pred")
            for i, rest in enumerate(beyond):
                if rest.size and not _is_padding(rest).all():
                    raise ValueError(
                        f"y_pred has predictions after the {lengths[i]} steps of sequence "
                        f"{i} of y_true; y_true must label every real step.")
        else:
            y_true, _ = _as_sequence_list(y_true, [len(s) for s in y_pred], "y_true")
    t, t_shape = _flatten(y_true, "y_true")
    p, p_shape = _flatten(y_pred, "y_pred")
    if t_shape != p_shape or len(t) != len(p):
        raise ValueError(
            "y_true and y_pred must have the same structure (same sequences and lengths); "
            f"got {t_shape or len(t)} and {p_shape or len(p)}.")
    p_missing = _is_padding(p)
    keep = ~_is_padding(t)
    if t.dtype.kind in "OU" and t.ndim == 1:
        keep &= ~(p_missing & (t == ""))
    t, p = t[keep], p[keep]
    if p_missing[keep].any():
        raise ValueError("y_pred is missing (NaN/None) at a real step of y_true.")
    if t.dtype == object:
        t = t.astype(np.asarray(p).dtype) if p.dtype != object else t
    if p.dtype == object and t.dtype != object:
        p = p.astype(t.dtype)
    return t, p


def _flat(metric):
    def flat_metric(y_true, y_pred, **kwargs):
        t, p = flatten_steps(y_true, y_pred)
        return metric(t, p, **kwargs)

    flat_metric.__name__ = f"flat_{metric.__name__}"
    flat_metric.__qualname__ = flat_metric.__name__
    flat_metric.__doc__ = (
        f"``sklearn.metrics.{metric.__name__}`` over all real time steps.\n\n"
        "Parameters\n----------\ny_true, y_pred : per-step structure\n"
        "    See :func:`flatten_steps`.\n**kwargs\n"
        f"    Passed to ``sklearn.metrics.{metric.__name__}`` (``sample_weight`` must then "
        "have one entry per real step).\n\nReturns\n-------\nscore : float or ndarray\n")
    return flat_metric


flat_accuracy_score = _flat(_sk.accuracy_score)
flat_f1_score = _flat(_sk.f1_score)
flat_precision_score = _flat(_sk.precision_score)
flat_recall_score = _flat(_sk.recall_score)
flat_classification_report = _flat(_sk.classification_report)
flat_r2_score = _flat(_sk.r2_score)
flat_mean_squared_error = _flat(_sk.mean_squared_error)

#: Ready-made scorers for ``scoring=`` in scikit-learn's model selection tools, under
#: scikit-learn's names; use them instead of ``scoring="accuracy"`` and the like.
FLAT_SCORERS = {
    "accuracy": make_scorer(flat_accuracy_score),
    "f1_macro": make_scorer(flat_f1_score, average="macro"),
    "f1_micro": make_scorer(flat_f1_score, average="micro"),
    "f1_weighted": make_scorer(flat_f1_score, average="weighted"),
    "precision_macro": make_scorer(flat_precision_score, average="macro", zero_division=0),
    "recall_macro": make_scorer(flat_recall_score, average="macro", zero_division=0),
    "r2": make_scorer(flat_r2_score),
    "neg_mean_squared_error": make_scorer(flat_mean_squared_error, greater_is_better=False),
}
