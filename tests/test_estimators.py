"""RNNClassifier and LSTMRegressor: scikit-learn tools, training behaviour, accuracy."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrnn import LSTMRegressor, RNNClassifier

FAST = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0)


def _ragged_sign_task(rng, n=60):
    """Class = sign of the sum of a ragged univariate sequence."""
    X = [rng.standard_normal((int(rng.integers(2, 9)), 1)) for _ in range(n)]
    y = np.array(["pos" if x.sum() > 0 else "neg" for x in X])
    return X, y


def _first_step_task(rng, n=80, T=6):
    """Target = the first step's value: the network must remember it."""
    X = rng.standard_normal((n, T, 2))
    return X, X[:, 0, 0].copy()


# ---------------------------------------------------------------- scikit-learn tools
def test_pipeline_with_standard_scaler_on_2d(rng):
    X = rng.standard_normal((80, 4)) * 10 + 3
    y = (X[:, 0] > 3).astype(int)
    pipe = make_pipeline(StandardScaler(), RNNClassifier(max_iter=100, random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9


@pytest.mark.parametrize("form", ["3d", "ragged"])
def test_grid_search_over_cell_and_sizes(rng, form):
    X, y = _first_step_task(rng, n=60)
    if form == "ragged":
        X = [x[: int(rng.integers(3, 7))] for x in X]
    grid = GridSearchCV(
        LSTMRegressor(max_iter=20, learning_rate_init=0.01, random_state=0),
        {"cell": ["rnn", "lstm", "gru"], "hidden_layer_sizes": [(4,), (8,)]},
        cv=3, n_jobs=2,
    )
    grid.fit(X, y)
    assert set(grid.cv_results_["param_cell"]) == {"rnn", "lstm", "gru"}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.predict(X).shape == (len(X),)


def test_cross_val_score_on_ragged_classification(rng):
    X, y = _ragged_sign_task(rng)
    scores = cross_val_score(RNNClassifier(max_iter=60, learning_rate_init=0.01,
                                           random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


@pytest.mark.parametrize("Est", [RNNClassifier, LSTMRegressor])
def test_clone_pickle_and_identical_refits(rng, Est):
    X, y = _first_step_task(rng)
    if Est is RNNClassifier:
        y = y > 0
    est = Est(**FAST).fit(X, y)
    again = clone(est).fit(X, y)
    for name, w in est.get_weights().items():
        np.testing.assert_array_equal(w, again.get_weights()[name])
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("Est", [RNNClassifier, LSTMRegressor])
def test_partial_fit_n_times_equals_fit_with_max_iter_n(rng, Est):
    X, y = _first_step_task(rng, n=50)
    kwargs = dict(hidden_layer_sizes=(6,), shuffle=False, random_state=3, batch_size=16,
                  tol=0.0, n_iter_no_change=1000)
    extra = {}
    if Est is RNNClassifier:
        y = np.where(y > 0, "a", "b")
        extra = {"classes": ["a", "b"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = Est(max_iter=4, **kwargs).fit(X, y)
    inc = Est(**kwargs)
    for _ in range(4):
        inc.partial_fit(X, y, **extra)
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == 4 and inc.t_ == full.t_
    for name, w in full.get_weights().items():
        np.testing.assert_allclose(inc.get_weights()[name], w, rtol=0, atol=1e-12)


def test_partial_fit_needs_classes_first_and_is_absent_for_lbfgs(rng):
    X, y = _first_step_task(rng)
    with pytest.raises(ValueError, match="classes must be passed"):
        RNNClassifier().partial_fit(X, y > 0)
    assert not hasattr(RNNClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(LSTMRegressor(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_from_previous_weights(rng):
    X, y = _first_step_task(rng)
    est = LSTMRegressor(warm_start=True, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        first_loss = est.loss_curve_[-1]
        est.fit(X, y)
    # n_iter_ counts the latest fit's epochs (as MLPClassifier); the history goes on.
    assert est.n_iter_ == 15 and len(est.loss_curve_) == 30
    assert est.loss_curve_[-1] < first_loss


def test_warm_start_follows_the_latest_fits_target_shape(rng):
    # A warm-started fit whose number of outputs changes starts afresh; its predictions
    # must have the new target's shape, not the first fit's.
    X, y = _first_step_task(rng)
    est = LSTMRegressor(warm_start=True, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        assert est.predict(X).shape == (len(X),)
        with pytest.warns(UserWarning, match="starts from new weights"):
            est.fit(X, np.c_[y, -y])
        assert est.predict(X).shape == (len(X), 2)
        est.fit(X, np.c_[y, -y])  # weights kept, shape kept
        assert est.predict(X).shape == (len(X), 2)
        est.partial_fit(X, np.c_[y, -y])
        assert est.predict(X).shape == (len(X), 2)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_solver_and_cell_learns(rng, solver, cell):
    X, y = _first_step_task(rng, n=100, T=4)
    est = LSTMRegressor(cell=cell, solver=solver, hidden_layer_sizes=(8,), max_iter=80,
                        batch_size=20, learning_rate_init=0.01 if solver != "sgd" else 0.05,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.score(X, y) > 0.8
    assert len(est.loss_curve_) >= 1 and est.n_iter_ >= 1


def test_bidirectional_stacked_dropout_truncation_and_clipping_train(rng):
    X, y = _ragged_sign_task(rng, n=80)
    clf = RNNClassifier(cell="gru", hidden_layer_sizes=(8, 6), bidirectional=True,
                        dropout=0.2, clip_norm=1.0, bptt_truncate=5, max_iter=60,
                        learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.predict_proba(X).shape == (80, 2)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X),
                               rtol=1e-10)
    # Dropout is off at prediction: repeated calls agree exactly.
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_multioutput_regression_and_float32(rng):
    X, y = _first_step_task(rng)
    Y = np.column_stack([y, -2 * y])
    reg = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=40, learning_rate_init=0.01,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X.astype(np.float32), Y)
    assert reg.predict(X).shape == (80, 2)
    assert reg.weights_["weight_ih_l0"].dtype == np.float32
    assert reg.predict(X).dtype == np.float32


# ---------------------------------------------------------------- training behaviour
def test_early_stopping_restores_best_weights(rng):
    X, y = _first_step_task(rng, n=120)
    reg = LSTMRegressor(hidden_layer_sizes=(8,), early_stopping=True, n_iter_no_change=3,
                        learning_rate_init=0.05, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert reg.best_loss_ is None and len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    # The restored weights score the best validation score again on the same split.
    split_seed = np.random.default_rng(np.random.SeedSequence(
        np.random.RandomState(0).randint(np.iinfo(np.int32).max)).spawn(4)[3]).integers(
        np.iinfo(np.int32).max)
    _, val_idx = train_test_split(np.arange(120), test_size=0.1, random_state=int(split_seed))
    assert reg.score(X[val_idx], y[val_idx]) == pytest.approx(reg.best_validation_score_,
                                                              rel=1e-10)


def test_verbose_prints_one_line_per_epoch(rng, capsys):
    X, y = _first_step_task(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNClassifier(verbose=1, early_stopping=True, max_iter=3, n_iter_no_change=100,
                      random_state=0, hidden_layer_sizes=(4,)).fit(X, y > 0)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration")]
    assert len(lines) == 3
    assert "loss = " in lines[0] and "validation score = " in lines[0] and " s" in lines[0]
    RNNClassifier(max_iter=2, random_state=0, hidden_layer_sizes=(4,)).fit(X, y > 0)
    assert capsys.readouterr().out == ""


def test_convergence_warning_at_max_iter(rng):
    X, y = _first_step_task(rng)
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(2\\)"):
        LSTMRegressor(max_iter=2, random_state=0, hidden_layer_sizes=(4,)).fit(X, y)


def test_non_finite_loss_stops_with_a_helpful_error(rng):
    X, y = _first_step_task(rng)
    # One sequence per step: the loss overflows inside the first epoch.
    reg = LSTMRegressor(cell="rnn", activation="relu", solver="sgd", momentum=0.0,
                        batch_size=1, learning_rate_init=1e6, max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="non-finite.*clip_norm"):
        reg.fit(X, y * 1e6)
    # The weights from before the failing step are kept and finite.
    assert all(np.all(np.isfinite(w)) for w in reg.weights_.values())
    # Clipping tames the same run.
    reg.set_params(clip_norm=1.0, learning_rate_init=1e-3, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert np.all(np.isfinite(reg.predict(X)))


def test_keyboard_interrupt_keeps_weights_reached(rng, monkeypatch):
    X, y = _first_step_task(rng)
    from skrnn import _optimizers

    calls = {"n": 0}
    original = _optimizers.AdamOptimizer.update_params

    def interrupt_on_third(self, params, grads):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        original(self, params, grads)

    monkeypatch.setattr(_optimizers.AdamOptimizer, "update_params", interrupt_on_third)
    reg = LSTMRegressor(batch_size=40, **FAST)
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X, y)
    assert reg.n_iter_ == 1 and np.all(np.isfinite(reg.predict(X)))
    monkeypatch.setattr(_optimizers.AdamOptimizer, "update_params", original)
    reg.partial_fit(X, y)  # continues after the interruption
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 2


def test_sample_weight_zero_equals_dropping_sequences(rng):
    X, y = _first_step_task(rng, n=60)
    sw = np.ones(60)
    sw[::3] = 0
    # Exactly equal when the data fit in one batch (in expectation otherwise).
    kwargs = dict(hidden_layer_sizes=(6,), max_iter=5, shuffle=False, random_state=0,
                  batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LSTMRegressor(**kwargs).fit(X, y, sample_weight=sw)
        b = LSTMRegressor(**kwargs).fit(X[sw > 0], y[sw > 0])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9, atol=1e-12)


def test_set_weights_round_trip(rng):
    X = rng.standard_normal((20, 4, 2))
    reg = LSTMRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, X[:, 0, 0])
    w = reg.get_weights()
    before = reg.predict(X)
    w["output.bias"][:] += 1.0
    reg.set_weights(w)
    np.testing.assert_allclose(reg.predict(X), before + 1.0)
    with pytest.raises(ValueError, match="shape"):
        reg.set_weights({**w, "output.bias": np.zeros(2)})
    with pytest.raises(ValueError, match="missing"):
        reg.set_weights({"output.bias": np.zeros(1)})


# ---------------------------------------------------------------- errors
def test_bad_parameters_and_targets_are_reported(rng):
    X, y = _first_step_task(rng)
    with pytest.raises(ValueError, match="cell"):
        RNNClassifier(cell="transformer").fit(X, y > 0)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        RNNClassifier(hidden_layer_sizes=(4, 0)).fit(X, y > 0)
    with pytest.raises(ValueError, match="dropout is not supported with solver='lbfgs'"):
        LSTMRegressor(solver="lbfgs", dropout=0.5).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        RNNClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="80 sequences but y has 79"):
        LSTMRegressor().fit(X, y[:-1])
    with pytest.raises(ValueError, match="X has 3 features, but LSTMRegressor is expecting 2"):
        LSTMRegressor(**FAST).fit(X, y).predict(np.zeros((2, 4, 3)))


# ---------------------------------------------------------------- accuracy
def test_digits_as_sequences_reach_97_percent():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0  # 8 steps of 8 pixels
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    clf = RNNClassifier(cell="lstm", hidden_layer_sizes=(64,), learning_rate_init=0.01,
                        alpha=1e-3, batch_size=64, max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.97


def test_lstm_solves_the_adding_problem():
    from skrnn.datasets import make_adding_problem

    X, y = make_adding_problem(n_sequences=2500, n_timesteps=30, random_state=0)
    Xtr, Xte, ytr, yte = X[:2000], X[2000:], y[:2000], y[2000:]
    reg = LSTMRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=64,
                        max_iter=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(Xtr, ytr)
    mse = np.mean((reg.predict(Xte) - yte) ** 2)
    assert mse < (1 / 6) / 10
