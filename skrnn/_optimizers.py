"""Stochastic optimizers that update a list of arrays in place, with learning-rate schedules.

They know nothing about networks: each holds its state (velocities, moment estimates, step
count) for a fixed list of parameter arrays and applies one update from a matching list of
gradients. The update rules and the schedules are scikit-learn's
(``sklearn.neural_network``) written out, so ``solver="sgd"``/``"adam"`` and
``learning_rate="constant"/"invscaling"/"adaptive"`` mean the same here as in
``MLPClassifier``, except that the schedules also drive Adam's step size (scikit-learn applies
them to SGD only).
"""

import numpy as np

__all__ = ["BaseOptimizer", "SGDOptimizer", "AdamOptimizer", "LR_SCHEDULES"]

#: The learning-rate schedules, as ``MLPClassifier``'s ``learning_rate`` parameter.
LR_SCHEDULES = ("constant", "invscaling", "adaptive")

#: ``"adaptive"`` divides the step size by this factor on a plateau, and stops below
#: ``_MIN_ADAPTIVE_LR`` (scikit-learn's values).
_ADAPTIVE_FACTOR = 5.0
_MIN_ADAPTIVE_LR = 1e-6


class BaseOptimizer:
    """The step size and its schedule, shared by SGD and Adam.

    Parameters
    ----------
    learning_rate_init : float
        Initial step size.
    lr_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
        ``"constant"`` keeps ``learning_rate_init``; ``"invscaling"`` sets the step size to
        ``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` being the number
        of training sequences seen; ``"adaptive"`` divides it by 5 each time the stopping
        rule would stop, and stops only when it falls below 1e-6.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.

    Attributes
    ----------
    learning_rate : float
        The current step size.
    """

    def __init__(self, learning_rate_init, lr_schedule="constant", power_t=0.5):
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {lr_schedule!r}.")
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.power_t = float(power_t)

    def iteration_ends(self, time_step):
        """Update the step size at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Training sequences seen so far (``t_`` of the estimator).
        """
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """The stopping rule fired: return True to stop, False to go on with a smaller step.

        Parameters
        ----------
        msg : str
            Why the rule fired (printed when ``verbose``).
        verbose : bool

        Returns
        -------
        stop : bool
        """
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= _MIN_ADAPTIVE_LR:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= _ADAPTIVE_FACTOR
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent with momentum (optionally Nesterov's).

    ``v <- momentum * v - lr * g``; the parameter moves by ``v``, or with Nesterov by
    ``momentum * v - lr * g`` computed with the new ``v``.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (their shapes and dtypes define the state).
    learning_rate_init : float
    momentum : float
    nesterov : bool
    lr_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
    power_t : float, default=0.5
    """

    def __init__(self, params, learning_rate_init=0.1, momentum=0.9, nesterov=True,
                 lr_schedule="constant", power_t=0.5):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        """Apply one update in place. ``params`` and ``grads`` are matching lists."""
        lr, mu = self.learning_rate, self.momentum
        for p, v, g in zip(params, self.velocities, grads):
            v *= mu
            v -= lr * g
            if self.nesterov:
                p += mu * v - lr * g
            else:
                p += v


class AdamOptimizer(BaseOptimizer):
    """Adam (Kingma and Ba, 2015), with scikit-learn's bias-corrected step size.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr_t m / (sqrt(v) + eps)`` with
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, ``lr`` being the scheduled step size.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float
    beta_1, beta_2 : float in [0, 1)
    epsilon : float
    lr_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
    power_t : float, default=0.5

    Attributes
    ----------
    t : int
        Number of updates applied.
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, lr_schedule="constant", power_t=0.5):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        """Apply one update in place. ``params`` and ``grads`` are matching lists."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        lr = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, m, v, g in zip(params, self.ms, self.vs, grads):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= (lr * m) / (np.sqrt(v) + self.epsilon)
