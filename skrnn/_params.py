"""Strict validation of the integer hyperparameters of the trained estimators.

scikit-learn's ``Interval(Integral, ...)`` accepts ``True`` (a bool is an int in Python), and
``int()`` turns ``4.7`` into 4 and ``"4"`` into 4. These checks accept integers only, so a
typo is an error that names the parameter rather than a silently different network.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

__all__ = ["PositiveInt", "check_positive_ints"]


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


class PositiveInt(Interval):
    """A ``_parameter_constraints`` entry: an integer >= 1 that is not a bool.

    A subclass of ``Interval`` because scikit-learn's validation passes only its own
    constraint classes through unchanged.
    """

    def __init__(self):
        super().__init__(Integral, 1, None, closed="left")

    def is_satisfied_by(self, val):
        return _is_int(val) and super().is_satisfied_by(val)

    def __str__(self):
        return super().__str__() + " (not a bool)"


def check_positive_ints(value, name, *, allow_scalar=True):
    """Return ``value`` as a non-empty tuple of positive Python ints, or raise.

    Parameters
    ----------
    value : int or sequence of int
        The parameter's value.
    name : str
        The parameter's name, for the error message.
    allow_scalar : bool, default=True
        Whether a single integer stands for a one-element tuple.

    Returns
    -------
    values : tuple of int

    Raises
    ------
    TypeError
        An entry is not an integer (a float, a string, None, a bool or a nested sequence).
    ValueError
        The sequence is empty or an entry is below 1.
    """
    expected = (f"{name} must be " + ("a positive integer or " if allow_scalar else "")
                + "a non-empty sequence of positive integers")
    if allow_scalar and _is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{expected}; got {value!r} ({type(value).__name__}).")
    items = list(value)
    if not items:
        raise ValueError(f"{expected}; got an empty {type(value).__name__}.")
    for i, v in enumerate(items):
        if not _is_int(v):
            raise TypeError(
                f"{expected}; entry {i} is {v!r} ({type(v).__name__}), not an integer "
                "(floats and strings are not converted).")
        if v < 1:
            raise ValueError(f"{expected}; entry {i} is {v}.")
    return tuple(int(v) for v in items)
