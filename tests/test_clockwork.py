"""The Clockwork RNN cell (Koutník et al. 2014) in the estimators."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import GRUTagger, LSTMRegressor, RNNClassifier


def _remember_first_step(rng, n, T):
    """Class = sign of step 0; every later step is unit Gaussian noise."""
    X = rng.standard_normal((n, T, 1))
    c = rng.integers(0, 2, n)
    X[:, 0, 0] = 2 * c - 1
    return X, c


def _trainable(est):
    """Recurrent parameters that training can change (structural zeros excluded)."""
    total = 0
    for name, w in est.weights_.items():
        if name.startswith("weight_hh") and est.cell == "clockwork":
            k = int(name.split("_l")[1].split("_")[0])
            total += int(est._config.recurrent_mask(k).sum())
        elif not name.startswith("output"):
            total += w.size
    return total


def test_clockwork_beats_plain_rnn_on_a_long_dependency(rng):
    X, y = _remember_first_step(rng, 1000, 120)
    X_test, y_test = _remember_first_step(rng, 500, 120)
    kwargs = dict(learning_rate_init=0.01, max_iter=60, batch_size=50, random_state=0)
    plain = RNNClassifier(cell="rnn", hidden_layer_sizes=(16,), **kwargs)
    clock = RNNClassifier(cell="clockwork", hidden_layer_sizes=(20,),
                          clock_periods=(1, 2, 4, 8, 16), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
        clock.fit(X, y)
    # The same number of trainable recurrent-stack parameters, within 2%.
    assert abs(_trainable(clock) - _trainable(plain)) <= 0.02 * _trainable(plain)
    assert clock.score(X_test, y_test) >= 0.98
    assert plain.score(X_test, y_test) < clock.score(X_test, y_test) - 0.1


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_structural_zeros_stay_zero_through_training(rng, solver):
    X, y = _remember_first_step(rng, 60, 9)
    est = RNNClassifier(cell="clockwork", hidden_layer_sizes=(6, 6), clock_periods=(1, 3),
                        bidirectional=True, solver=solver, alpha=1e-2, max_iter=10,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    for k in range(2):
        mask = est._config.recurrent_mask(k)
        for s in ("", "_reverse"):
            W = est.weights_[f"weight_hh_l{k}{s}"]
            assert np.all(W[~mask] == 0) and np.any(W[mask] != 0)


def test_clockwork_in_every_trained_estimator(rng):
    seqs = [rng.standard_normal((int(L), 2)) for L in rng.integers(3, 10, 40)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = LSTMRegressor(cell="clockwork", hidden_layer_sizes=(8,), max_iter=5,
                            random_state=0).fit(seqs, [s[0, 0] for s in seqs])
        tag = GRUTagger(cell="clockwork", hidden_layer_sizes=(8,), max_iter=5,
                        random_state=0).fit(seqs, [s[:, 0] > 0 for s in seqs])
    assert reg.predict(seqs).shape == (40,)
    assert [len(p) for p in tag.predict(seqs)] == [len(s) for s in seqs]


def test_bad_clock_periods_are_reported(rng):
    X, y = _remember_first_step(rng, 20, 4)
    with pytest.raises(ValueError, match="modules of equal size"):
        RNNClassifier(cell="clockwork", hidden_layer_sizes=(10,)).fit(X, y)
    with pytest.raises(ValueError, match="divide the next"):
        RNNClassifier(cell="clockwork", hidden_layer_sizes=(6,),
                      clock_periods=(2, 3)).fit(X, y)
