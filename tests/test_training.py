"""The training loop: the stop decision, clean refits, weights, schedules, the validation
split and the warnings a fit gives when it did not learn."""

import warnings
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from skrnn import (
    GRUStepRegressor,
    GRUTagger,
    LSTMRegressor,
    RNNClassifier,
    Seq2SeqRegressor,
    _optimizers,
    _training,
)
from skrnn._optimizers import BaseOptimizer


def _quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _sign_task(rng, n=60, T=6):
    X = rng.standard_normal((n, T, 1))
    return X, (X[:, 0, 0] > 0).astype(int)


# ---------------------------------------------------------------- the stop decision
def _rule_state(trivial=1.0, tol=1e-4, n_iter_no_change=10):
    return SimpleNamespace(
        _best_data_loss=np.inf, _first_data_loss=None, _trivial_loss=trivial, _plateau_exit=None,
        _no_improvement_count=0, best_loss_=np.inf, best_validation_score_=None,
        tol=tol, n_iter_no_change=n_iter_no_change, n_iter_=0, t_=0, verbose=False,
        weights_={})


def test_the_rule_does_not_stop_on_the_initial_plateau():
    est, opt = _rule_state(), BaseOptimizer(0.001)
    # 60 epochs creeping down near the trivial loss, by less than tol each: scikit-learn's
    # rule would stop after 11 of them.
    for i in range(60):
        est.n_iter_ += 1
        loss = 0.99 - 1e-5 * i
        assert _training.epoch_ends(est, opt, loss, loss, None) is None
    assert est._plateau_exit is None and est._no_improvement_count > 11
    # The loss falls below half the trivial loss: the rule starts counting from there.
    est.n_iter_ += 1
    assert _training.epoch_ends(est, opt, 0.3, 0.3, None) is None
    assert est._plateau_exit == 61 and est._no_improvement_count == 0
    stops = []
    for _ in range(12):
        est.n_iter_ += 1
        stops.append(_training.epoch_ends(est, opt, 0.3, 0.3, None))
    assert stops == [None] * 10 + ["converged", "converged"]


def test_the_rule_stops_a_diverging_loss_but_not_a_spike_below_the_trivial_loss():
    est, opt = _rule_state(trivial=1e-6), BaseOptimizer(0.001)
    est._first_data_loss = 0.5  # the untrained network's
    for i, loss in enumerate([0.5, 1e-7, 1e-2, 0.5]):  # spikes below the starting loss
        est.n_iter_ = i + 1
        assert _training.epoch_ends(est, opt, loss, loss, None) is None
    est.n_iter_ = 5
    with pytest.warns(ConvergenceWarning, match="diverged"):
        assert _training.epoch_ends(est, opt, 100.0, 100.0, None) == "diverged"


# ---------------------------------------------------------------- warnings
def test_a_fit_no_better_than_the_priors_warns():
    rng = np.random.default_rng(0)
    X = np.zeros((40, 5, 1))  # no information at all
    y = rng.integers(0, 2, 40)
    with pytest.warns(ConvergenceWarning, match="no better than a model that ignores"):
        RNNClassifier(max_iter=5).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="the mean target"):
        LSTMRegressor(max_iter=5).fit(X, rng.standard_normal(40))


def test_a_diverging_fit_warns():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((80, 5, 2)), rng.standard_normal(80)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg = LSTMRegressor(learning_rate_init=1e10, max_iter=50, random_state=0).fit(X, y)
    assert reg.n_iter_ < 50


def test_a_fit_that_learns_gives_no_warning(rng):
    X, y = _sign_task(rng, n=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = RNNClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01,
                            random_state=0).fit(X, y)
    assert clf.n_iter_ < clf.max_iter and clf.score(X, y) > 0.95


# ---------------------------------------------------------------- every fit starts clean
def test_refit_never_returns_the_previous_fits_weights(rng, monkeypatch):
    X, y = rng.standard_normal((60, 5, 1)), rng.standard_normal(60)
    reg = LSTMRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=5,
                        random_state=0)
    _quiet(reg, X, y)
    trained = reg.get_weights()
    original = _optimizers.AdamOptimizer.update_params

    def interrupt(self, params, grads):
        raise KeyboardInterrupt

    monkeypatch.setattr(_optimizers.AdamOptimizer, "update_params", interrupt)
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X, y)  # interrupted before the first update: the fresh initial weights
    fresh = clone_init = LSTMRegressor(**reg.get_params())
    with pytest.warns(UserWarning, match="interrupted"):
        clone_init.fit(X, y)
    monkeypatch.setattr(_optimizers.AdamOptimizer, "update_params", original)
    for name, w in reg.get_weights().items():
        assert_array_equal(w, fresh.get_weights()[name])
    assert any(not np.array_equal(w, trained[k]) for k, w in reg.get_weights().items())


def test_refit_with_another_architecture_and_early_stopping(rng):
    X, y = rng.standard_normal((40, 5, 1)), rng.standard_normal(40)
    reg = _quiet(LSTMRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=3,
                               random_state=0), X, y)
    reg.set_params(hidden_layer_sizes=(6, 3))
    _quiet(reg, X, y)
    assert reg.get_weights()["weight_hh_l1"].shape == (12, 3)


def test_warm_start_after_an_architecture_change_warns(rng):
    X, y = rng.standard_normal((40, 5, 1)), rng.standard_normal(40)
    reg = _quiet(LSTMRegressor(hidden_layer_sizes=(4,), warm_start=True, max_iter=2,
                               random_state=0), X, y)
    reg.set_params(hidden_layer_sizes=(5,))
    with pytest.warns(UserWarning, match="starts from new weights"):
        _quiet(reg, X, y)


def test_interrupted_lbfgs_keeps_a_consistent_history(rng, monkeypatch):
    X, y = rng.standard_normal((40, 5, 1)), rng.standard_normal(40)
    reg = LSTMRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=50,
                        random_state=0)
    calls = {"n": 0}
    original = LSTMRegressor._loss_grad

    def interrupt_later(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LSTMRegressor, "_loss_grad", interrupt_later)
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X, y)
    assert reg.n_iter_ == len(reg.loss_curve_) >= 1
    assert reg.best_loss_ == reg.loss_ == reg.loss_curve_[-1] < np.inf


# ---------------------------------------------------------------- sample weights
def test_a_weight_means_the_same_whatever_the_batching():
    # Two groups of different lengths, so length bucketing puts them in separate batches;
    # the inputs carry no information. The weight-1 group must dominate the prediction.
    XA, XB = np.zeros((32, 3, 1)), np.zeros((32, 7, 1))
    X = list(XA) + list(XB)
    y = np.r_[-np.ones(32), np.ones(32)]
    sw = np.r_[np.ones(32), np.full(32, 1e-6)]
    kw = dict(hidden_layer_sizes=(4,), batch_size=32, max_iter=200, shuffle=False,
              learning_rate_init=0.003, tol=0.0, n_iter_no_change=np.inf, random_state=0)
    reg = _quiet(LSTMRegressor(**kw), X, y, sample_weight=sw)
    one_batch = _quiet(LSTMRegressor(**{**kw, "batch_size": 64}), X, y, sample_weight=sw)
    assert np.abs(reg.predict(X[:32]) + 1).max() < 0.05
    assert np.abs(one_batch.predict(X[:32]) + 1).max() < 0.05


def test_all_zero_weight_batches_are_skipped(rng):
    XA, XB = rng.standard_normal((20, 3, 1)), rng.standard_normal((20, 6, 1))
    X = list(XA) + list(XB)
    y = rng.standard_normal(40)
    sw = np.r_[np.ones(20), np.zeros(20)]
    for alpha in [0.0, 0.1]:
        reg = _quiet(LSTMRegressor(hidden_layer_sizes=(3,), batch_size=20, alpha=alpha,
                                   max_iter=3, random_state=0), X, y, sample_weight=sw)
        assert all(np.isfinite(w).all() for w in reg.weights_.values())
    with pytest.raises(ValueError, match="non-zero"):
        LSTMRegressor().fit(X, y, sample_weight=np.zeros(40))
    with pytest.raises(ValueError, match="sum to zero"):  # zero after class weights
        RNNClassifier(class_weight={0: 0.0, 1: 1.0}).fit(X, np.r_[np.zeros(20), np.ones(20)],
                                                         sample_weight=sw)


# ---------------------------------------------------------------- class weights
def test_class_weight_multiplies_the_sample_weight(rng):
    X, y = _sign_task(rng, n=60)
    y[:45] = 0  # imbalanced
    sw = rng.uniform(0.5, 2, 60)
    kw = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    a = _quiet(RNNClassifier(class_weight="balanced", **kw), X, y, sample_weight=sw)
    b = _quiet(RNNClassifier(**kw), X, y,
               sample_weight=sw * compute_sample_weight("balanced", y))
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)
    c = _quiet(RNNClassifier(class_weight={0: 1.0, 1: 3.0}, **kw), X, y)
    d = _quiet(RNNClassifier(**kw), X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_allclose(c.predict_proba(X), d.predict_proba(X), rtol=1e-10)
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        RNNClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_tagger_class_weight_is_per_step(rng):
    X = [rng.standard_normal((L, 2)) for L in (4, 6, 5)]
    y = [np.array(["a", "a", "b", "a"]), np.array(["a"] * 5 + ["b"]), np.array(["a"] * 5)]
    tagger = GRUTagger(class_weight="balanced", hidden_layer_sizes=(3,), max_iter=1,
                       random_state=0)
    _quiet(tagger, X, y, sample_weight=[1.0, 2.0, 1.0])
    from skrnn._sequences import check_sequences

    batch = check_sequences(X, estimator=tagger, reset=False)
    targets, _ = tagger._encode_targets(y, batch, first_call=False)
    w = tagger._target_weights([1.0, 2.0, 1.0], targets, batch, incremental=False)
    labels = np.concatenate(y)
    cw = dict(zip(["a", "b"], compute_class_weight("balanced", classes=np.array(["a", "b"]),
                                                    y=labels)))
    expected = [cw[lab] * s for seq, s in zip(y, [1.0, 2.0, 1.0]) for lab in seq]
    # The real steps, sequence by sequence (the batch is time-major).
    got = np.concatenate([w[: len(seq), i] for i, seq in enumerate(y)])
    assert_allclose(got, expected)
    assert w[batch.mask].size == labels.size and np.all(w[~batch.mask] == 0)


# ---------------------------------------------------------------- validation split
def test_tail_split_holds_out_the_last_sequences(rng):
    X, y = rng.standard_normal((30, 4, 1)), rng.standard_normal(30)
    seen = {}
    original = _training.run_epochs

    def spy(est, data, train_idx, validation, *args, **kwargs):
        seen["train"] = train_idx
        seen["n_val"] = validation[0].n_sequences
        return original(est, data, train_idx, validation, *args, **kwargs)

    with mock.patch("skrnn._base.run_epochs", spy):
        _quiet(LSTMRegressor(early_stopping=True, validation_split="tail",
                             validation_fraction=0.2, max_iter=2), X, y)
    assert_array_equal(seen["train"], np.arange(24)) and seen["n_val"] == 6


def test_split_errors_name_validation_fraction(rng):
    X = rng.standard_normal((10, 3, 1))
    y = np.r_[np.zeros(4), np.ones(3), np.full(3, 2)].astype(int)
    with pytest.raises(ValueError, match="validation_fraction"):
        RNNClassifier(early_stopping=True, validation_fraction=0.1).fit(X, y)


# ---------------------------------------------------------------- schedules
@pytest.mark.parametrize("Optimizer", [_optimizers.SGDOptimizer, _optimizers.AdamOptimizer])
def test_schedules_follow_mlp_formulas(Optimizer):
    opt = Optimizer([np.zeros(2)], 0.1, lr_schedule="invscaling", power_t=0.25)
    opt.iteration_ends(15)
    assert opt.learning_rate == pytest.approx(0.1 / 16 ** 0.25)
    opt = Optimizer([np.zeros(2)], 0.1, lr_schedule="adaptive")
    assert opt.trigger_stopping("", False) is False
    assert opt.learning_rate == pytest.approx(0.02)
    opt.learning_rate = 1e-6
    assert opt.trigger_stopping("", False) is True
    assert Optimizer([np.zeros(2)], 0.1).trigger_stopping("", False) is True


def test_adam_step_uses_the_scheduled_rate():
    p, g = [np.zeros(3)], [np.ones(3)]
    opt = _optimizers.AdamOptimizer(p, 0.1)
    opt.learning_rate = 0.05
    opt.update_params(p, g)
    # First step: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(1 - b2) / (1 - b1).
    lr_t = 0.05 * np.sqrt(1 - 0.999) / (1 - 0.9)
    assert_allclose(p[0], -lr_t * 0.1 / (np.sqrt(0.001) + 1e-8))


# ---------------------------------------------------------------- initialisation
def _initial_weights(rng, **params):
    """The weights a fit starts from (captured before the first epoch)."""
    X, y = rng.standard_normal((10, 4, 3)), rng.standard_normal(10)
    seen = {}

    def capture(est, *args, **kwargs):
        seen.update({k: v.copy() for k, v in est.weights_.items()})
        return "interrupted"

    with mock.patch("skrnn._base.run_epochs", capture):
        LSTMRegressor(**params).fit(X, y)
    return seen


def test_uniform_init_is_pytorchs_default(rng):
    torch = pytest.importorskip("torch")
    w = _initial_weights(rng, init="uniform", hidden_layer_sizes=(5,), bidirectional=True,
                         random_state=0)
    ref = torch.nn.LSTM(3, 5, bidirectional=True).state_dict()
    recurrent = {k: v for k, v in w.items() if not k.startswith("output")}
    assert {k: v.shape for k, v in recurrent.items()} == {k: tuple(v.shape)
                                                          for k, v in ref.items()}
    drawn = np.abs(np.concatenate([v.ravel() for v in recurrent.values()]))
    assert drawn.max() <= 1 / np.sqrt(5) and drawn.max() > 0.95 / np.sqrt(5)
    bound = 1 / np.sqrt(10)  # torch.nn.Linear on 2 x 5 features
    assert np.abs(w["output.weight"]).max() <= bound
    assert np.abs(w["output.bias"]).max() <= bound and np.any(w["output.bias"] != 0)


def test_auto_init_is_uniform_for_an_lstm_regressor_only(rng):
    # "auto" is the measured better start: uniform for an LSTM regressor, orthogonal else.
    def same(a, b):
        return all(np.array_equal(a[k], b[k]) for k in a)

    kw = dict(hidden_layer_sizes=(6,), random_state=0)
    auto = _initial_weights(rng, **kw)
    assert same(auto, _initial_weights(rng, init="uniform", **kw))
    assert not same(auto, _initial_weights(rng, init="orthogonal", **kw))
    gru = _initial_weights(rng, cell="gru", **kw)
    assert same(gru, _initial_weights(rng, cell="gru", init="orthogonal", **kw))
    assert RNNClassifier(cell="lstm")._init_scheme() == "orthogonal"
    assert GRUTagger(cell="lstm")._init_scheme() == "orthogonal"
    assert GRUStepRegressor(cell="lstm")._init_scheme() == "uniform"
    assert Seq2SeqRegressor()._init_scheme() == "uniform"


def test_orthogonal_init_has_orthogonal_recurrent_blocks(rng):
    w = _initial_weights(rng, hidden_layer_sizes=(6,), init="orthogonal", random_state=0)
    for block in np.split(w["weight_hh_l0"], 4):
        assert_allclose(block.T @ block, np.eye(6), atol=1e-12)
    assert_array_equal(w["bias_ih_l0"][6:12], 1.0)  # forget gate
    assert not np.array_equal(w["weight_hh_l0"],
                              _initial_weights(rng, hidden_layer_sizes=(6,), init="uniform",
                                               random_state=0)["weight_hh_l0"])
