"""The training loop of the trained estimators: mini-batches, optimizer steps, schedules,
validation, and the one decision to stop.

The estimator (``BaseRecurrentNetwork``) turns the user's data into a :class:`TrainingSet`
and provides the loss and its gradient on a mini-batch; everything that happens between
epochs is here, so the behaviour a user sees (when training stops, what it warns about) can
be read in one place:

- :func:`epoch_ends` is the stop decision: scikit-learn ``MLPClassifier``'s rule (an epoch
  whose training loss, or validation score with ``early_stopping``, does not improve on the
  best by ``tol`` counts as no improvement; more than ``n_iter_no_change`` such epochs in a
  row stop training, or shrink the step size with ``learning_rate="adaptive"``), with two
  additions for recurrent networks: the rule cannot stop training while the network is
  still on its initial plateau, and a loss that grows by orders of magnitude stops training
  as diverged.
- :func:`check_outcome` warns when the model returned is no better than one that ignores
  its input.

Losses are normalised by a constant of the training set (its number of rows times their mean
weight), not by the weights of each mini-batch, so a sample weight means the same whatever
the batching: weighting a sequence by ``w`` is repeating it ``w`` times, in expectation over
the shuffles.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["TrainingSet", "PLATEAU_FRACTION", "DIVERGENCE_FACTOR", "TRIVIAL_MARGIN",
           "run_epochs", "epoch_ends", "check_outcome"]

#: The stopping rule waits until the training loss has fallen to this fraction of a trivial
#: model's loss (class priors; the mean target). Recurrent networks sit near the trivial loss,
#: improving by less than ``tol`` an epoch, for tens of epochs before they find a long-range
#: signal; scikit-learn's rule, made for feed-forward networks, stops them there.
PLATEAU_FRACTION = 0.5

#: An epoch whose training loss exceeds by this factor the best so far, the untrained
#: network's and the trivial loss has diverged.
DIVERGENCE_FACTOR = 100.0

#: A final training loss above ``(1 - TRIVIAL_MARGIN)`` times the trivial loss is "no better
#: than a trivial model".
TRIVIAL_MARGIN = 0.01


@dataclass
class TrainingSet:
    """Sequences, targets and weights of one call to ``fit``/``partial_fit``.

    Attributes
    ----------
    batch : SequenceBatch
        All sequences passed to ``fit``, canonical time-major layout.
    targets : ndarray
        Many-to-one: (n_sequences,) class indices or (n_sequences, n_outputs); per step:
        (n_timesteps, n_sequences[, n_outputs]).
    weights : ndarray
        Row weights in the targets' leading layout: (n_sequences,) or, per step,
        (n_timesteps, n_sequences) with zeros on padding.
    per_step : bool
        Whether a row is a real time step (True) or a sequence (False).
    """

    batch: object
    targets: np.ndarray
    weights: np.ndarray
    per_step: bool

    def rows(self, idx):
        """Number of rows (sequences or real steps) of the sequences ``idx``."""
        if self.per_step:
            return int(self.batch.lengths[idx].sum())
        return len(idx)

    def subset(self, idx, n_timesteps):
        """Targets and weights of the sequences ``idx``, cut to ``n_timesteps`` steps."""
        if self.per_step:
            return self.targets[:n_timesteps, idx], self.weights[:n_timesteps, idx]
        return self.targets[idx], self.weights[idx]

    def row_values(self, idx):
        """Row targets and row weights of the sequences ``idx`` (padding dropped)."""
        if not self.per_step:
            return self.targets[idx], self.weights[idx]
        lengths = self.batch.lengths[idx]
        T = int(lengths.max())
        mask = np.arange(T)[:, None] < lengths[None, :]  # no padded copy of the inputs
        return self.targets[:T, idx][mask], self.weights[:T, idx][mask]

    def weight_sum(self, idx):
        """Sum of the row weights of the sequences ``idx``."""
        if self.per_step:
            return float(self.weights[:, idx].sum())
        return float(self.weights[idx].sum())


def run_epochs(est, data, train_idx, validation, optimizer, *, max_epochs, incremental):
    """Run up to ``max_epochs`` epochs of mini-batch training on ``est``.

    Updates ``est.weights_`` in place and the fitted history (``loss_curve_``, ``loss_``,
    ``n_iter_``, ``t_``, ``validation_scores_``, the best weights). Stops when
    :func:`epoch_ends` says so. Ctrl-C ends training with a warning and keeps what was
    reached.

    Parameters
    ----------
    est : BaseRecurrentNetwork
    data : TrainingSet
    train_idx : ndarray of int
        The training sequences.
    validation : tuple (SequenceBatch, targets, weights) or None
        The held-out sequences of ``early_stopping``.
    optimizer : BaseOptimizer
    max_epochs : int
    incremental : bool
        ``partial_fit``: exactly one epoch, no stop and no convergence warning.

    Returns
    -------
    reason : {"max_iter", "converged", "diverged", "interrupted"}
        Why training ended.
    """
    n_train = len(train_idx)
    batch_size = est._effective_batch_size(n_train)
    names = list(est.weights_)
    params = [est.weights_[k] for k in names]
    # The loss normaliser: rows of the training set times their mean weight. Constant over
    # batches, so every batch's gradient is on one scale.
    total_rows = data.rows(train_idx)
    mean_weight = data.weight_sum(train_idx) / total_rows
    lengths = data.batch.lengths[train_idx]
    reason = "max_iter"
    try:
        for _ in range(max_epochs):
            t0 = time.process_time() if est.verbose else 0.0
            loss_sum = data_loss_sum = 0.0
            for b in est._batches(lengths, batch_size, est.shuffle):
                idx = train_idx[b]
                sub = data.batch.take(idx)
                targets, weights = data.subset(idx, sub.n_timesteps)
                rows = data.rows(idx)
                weight_sum = float(weights.sum())
                if weight_sum == 0.0:  # nothing to learn from; no step at all
                    continue
                data_loss, loss, grads = est._batch_loss_grad(
                    sub, targets, weights, normalizer=rows * mean_weight)
                if est._first_data_loss is None:  # before any update: the starting point
                    est._first_data_loss = data_loss * rows * mean_weight / weight_sum
                norm = est._clip(grads)
                if not (np.isfinite(loss) and np.isfinite(norm)):
                    est._raise_non_finite(loss)
                optimizer.update_params(params, [grads[k] for k in names])
                loss_sum += loss * rows
                data_loss_sum += data_loss * rows
            est.n_iter_ += 1
            est.t_ += n_train
            est.loss_ = loss_sum / total_rows
            est.loss_curve_.append(est.loss_)
            score = None
            if validation is not None:
                score = est._score_validation(*validation)
                est.validation_scores_.append(score)
            if est.verbose:
                msg = f"Iteration {len(est.loss_curve_)}, loss = {est.loss_:.8f}"
                if score is not None:
                    msg += f", validation score = {score:.6f}"
                print(msg + f", {time.process_time() - t0:.2f} s")
            stop = epoch_ends(est, optimizer, est.loss_, data_loss_sum / total_rows, score)
            if stop is not None and not incremental:
                reason = stop
                break
    except KeyboardInterrupt:
        warnings.warn(
            f"Training interrupted (KeyboardInterrupt) after {est.n_iter_} complete epochs "
            "of this fit; keeping the weights reached.", UserWarning)
        reason = "interrupted"
    return reason


def epoch_ends(est, optimizer, loss, data_loss, score):
    """The stop decision, taken once after every epoch.

    Updates ``est.best_loss_`` (or ``best_validation_score_`` and the best weights with
    early stopping), the no-improvement count and the step-size schedule.

    Parameters
    ----------
    est : BaseRecurrentNetwork
    optimizer : BaseOptimizer
    loss : float
        The epoch's training loss (penalty included), as in ``loss_curve_``.
    data_loss : float
        The same without the L2 penalty: what is compared with the trivial model.
    score : float or None
        The validation score (``early_stopping``), higher is better; may be NaN.

    Returns
    -------
    reason : {"converged", "diverged"} or None
        None: go on.
    """
    # Measured against where training started (the untrained network's loss on the first
    # batch) and the trivial loss too, so that a spike from a tiny loss is no alarm.
    best = est._best_data_loss if np.isfinite(est._best_data_loss) else 0.0
    reference = max(best, est._trivial_loss, est._first_data_loss or 0.0)
    if reference > 0 and data_loss > DIVERGENCE_FACTOR * reference:
        warnings.warn(
            f"Training diverged: the training loss grew from {est._best_data_loss:.4g} to "
            f"{data_loss:.4g} at epoch {est.n_iter_}, and training stopped. The model is "
            "not usable; lower learning_rate_init, set clip_norm (e.g. clip_norm=1.0) or "
            "scale the input.", ConvergenceWarning)
        return "diverged"
    est._best_data_loss = min(est._best_data_loss, data_loss)
    est._last_data_loss = data_loss
    if est._plateau_exit is None and data_loss <= PLATEAU_FRACTION * est._trivial_loss:
        # The rule starts counting now: epochs spent on the plateau do not count.
        est._plateau_exit = est.n_iter_
        est._no_improvement_count = 0

    if score is not None:
        improved = score >= est.best_validation_score_ + est.tol  # False for NaN
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_weights = {k: v.copy() for k, v in est.weights_.items()}
            est._best_weights_data_loss = data_loss
    else:
        improved = loss <= est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, loss)
    est._no_improvement_count = 0 if improved else est._no_improvement_count + 1

    optimizer.iteration_ends(est.t_)
    on_plateau = est._plateau_exit is None
    if est._no_improvement_count > est.n_iter_no_change and not on_plateau:
        what = "Validation score" if score is not None else "Training loss"
        msg = (f"{what} did not improve more than tol={est.tol:f} for "
               f"{est.n_iter_no_change} consecutive epochs.")
        if optimizer.trigger_stopping(msg, est.verbose):
            return "converged"
        est._no_improvement_count = 0
    return None


def check_outcome(est, final_data_loss, reason):
    """Warn when the model returned is no better than a trivial one, or did not converge.

    Parameters
    ----------
    est : BaseRecurrentNetwork
    final_data_loss : float
        Training loss (without penalty) of the weights returned.
    reason : {"max_iter", "converged", "diverged", "interrupted"}
    """
    if reason == "max_iter":
        warnings.warn(
            f"Stochastic optimizer: maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet.", ConvergenceWarning)
    trivial = est._trivial_loss
    if reason in ("diverged", "interrupted") or trivial <= est.tol:
        return
    if final_data_loss >= (1.0 - TRIVIAL_MARGIN) * trivial:
        baseline = "the class priors" if est._loss != "squared_error" else "the mean target"
        warnings.warn(
            f"Training ended with a training loss of {final_data_loss:.4g}, no "
            f"better than a model that ignores its input ({trivial:.4g}, {baseline}). The "
            "network has not learnt the task. Try more epochs (max_iter), a larger "
            "learning_rate_init, standardised input (skrnn.preprocessing.SequenceScaler), "
            "a gated cell (cell='lstm' or 'gru') for long sequences, or clip_norm.",
            ConvergenceWarning)
