"""Activation functions and their derivatives, written in terms of the *output*.

As in scikit-learn's ``sklearn.neural_network._base``, every activation works in place on a
preallocated array, and every derivative is a function of the activation's output ``Y``
(never of its input), so the forward pass can keep only the activated values for backward.

``FORWARD[name](Z)`` overwrites ``Z`` with ``f(Z)``; ``DERIVATIVE[name](Y, out)`` writes
``f'`` evaluated where ``f(z) = Y`` into ``out`` and returns it.

The logistic sigmoid has a derivative here but no entry in ``FORWARD``: the gated cells
compute it from negated pre-activations (:func:`skrnn.cells.base.sigmoid_of_negated`).
:func:`inplace_sigmoid` is the stable reference form for code outside the cells.
"""

import numpy as np

__all__ = ["FORWARD", "DERIVATIVE", "inplace_sigmoid", "constant"]

_CONSTANTS = {}


def constant(value, dtype):
    """``value`` as a read-only 0-d array of ``dtype``, made once.

    A ufunc takes a 0-d array of its operands' dtype faster than a Python number, which it
    converts on every call (about a microsecond): it matters in the per-step loops.
    """
    key = (value, dtype)
    c = _CONSTANTS.get(key)
    if c is None:
        c = np.array(value, dtype=dtype)
        c.flags.writeable = False
        _CONSTANTS[key] = c
    return c


def inplace_tanh(Z):
    np.tanh(Z, out=Z)
    return Z


def inplace_relu(Z):
    np.maximum(Z, 0, out=Z)
    return Z


def inplace_identity(Z):
    return Z


def inplace_sigmoid(Z):
    """``sigmoid(Z)`` in place as ``0.5 * tanh(Z / 2) + 0.5``: no overflow for any ``Z``."""
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z *= 0.5
    Z += 0.5
    return Z


def inplace_hard_sigmoid(Z):
    # Keras' classic hard sigmoid: clip(0.2 z + 0.5, 0, 1).
    Z *= 0.2
    Z += 0.5
    np.clip(Z, 0.0, 1.0, out=Z)
    return Z


def tanh_derivative(Y, out):
    np.multiply(Y, Y, out=out)
    np.subtract(constant(1, out.dtype), out, out=out)
    return out


def relu_derivative(Y, out):
    np.greater(Y, 0, out=out, casting="unsafe")
    return out


def identity_derivative(Y, out):
    out[...] = 1
    return out


def sigmoid_derivative(Y, out):
    np.subtract(constant(1, out.dtype), Y, out=out)
    out *= Y
    return out


def hard_sigmoid_derivative(Y, out):
    # 0.2 inside the linear region; 0 where the output is clipped at 0 or 1.
    np.greater(Y, 0, out=out, casting="unsafe")
    out *= Y < 1
    out *= 0.2
    return out


FORWARD = {
    "tanh": inplace_tanh,
    "relu": inplace_relu,
    "identity": inplace_identity,
    "hard_sigmoid": inplace_hard_sigmoid,
}

DERIVATIVE = {
    "tanh": tanh_derivative,
    "relu": relu_derivative,
    "identity": identity_derivative,
    "sigmoid": sigmoid_derivative,
    "hard_sigmoid": hard_sigmoid_derivative,
}
