"""The training behaviours scikit-learn tests for ``MLPClassifier``/``MLPRegressor``
(``sklearn/neural_network/tests/test_mlp.py``), checked on ``RNNClassifier`` and
``LSTMRegressor``.

Each test names the behaviour it checks. 2-D input is a batch of length-1 sequences, where a
recurrent network is a small feed-forward one, so MLP's own data sets apply. Deliberate
differences are tested as such and listed in the user guide ("Differences from
MLPClassifier").
"""

import io
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skrnn import LSTMRegressor, RNNClassifier
from skrnn._optimizers import AdamOptimizer, SGDOptimizer

X_iris, y_iris = load_iris(return_X_y=True)
X_iris = StandardScaler().fit_transform(X_iris)
_digits = load_digits(n_class=2)
X_digits_binary = _digits.data[:100] / 16.0
y_digits_binary = _digits.target[:100]

ESTIMATORS = [RNNClassifier, LSTMRegressor]


def _fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _iris_target(Est):
    return y_iris if Est is RNNClassifier else (y_iris - 1.0)


def _weight_norm(est):
    return sum(float(np.sum(w ** 2)) for k, w in est.get_weights().items() if "weight" in k)


def test_alpha_shrinks_the_weights():
    norms = []
    for alpha in [0.0, 1.0, 10.0]:
        est = RNNClassifier(hidden_layer_sizes=(8,), alpha=alpha, max_iter=60,
                            learning_rate_init=0.01, random_state=0)
        norms.append(_weight_norm(_fit_quietly(est, X_digits_binary, y_digits_binary)))
    assert norms[0] > norms[1] > norms[2]


def test_lbfgs_learns_classification_and_regression():
    clf = RNNClassifier(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=150,
                        random_state=0)
    assert _fit_quietly(clf, X_iris, y_iris).score(X_iris, y_iris) > 0.95
    y = X_iris @ np.array([1.0, -0.5, 0.3, 0.8])
    reg = LSTMRegressor(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=150,
                        random_state=0)
    assert _fit_quietly(reg, X_iris, y).score(X_iris, y) > 0.95


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_lbfgs_respects_max_fun(Est):
    est = Est(solver="lbfgs", hidden_layer_sizes=(8,), max_fun=10, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_iris, _iris_target(Est))
    assert est.n_iter_ <= 10


def test_learning_rate_schedule_survives_warm_start():
    X, y = [[3, 2], [1, 6], [5, 6], [-2, -4]], [1, 1, 1, 0]
    for schedule in ["invscaling", "constant"]:
        clf = RNNClassifier(solver="sgd", hidden_layer_sizes=(4,), learning_rate=schedule,
                            max_iter=1, power_t=0.25, warm_start=True)
        _fit_quietly(clf, X, y)
        before = clf._optimizer.learning_rate
        _fit_quietly(clf, X, y)
        after = clf._optimizer.learning_rate
        if schedule == "constant":
            assert before == after == clf.learning_rate_init
        else:  # t_ counts the sequences of both fits: 8
            assert after == pytest.approx(clf.learning_rate_init / (8 + 1) ** 0.25)


def test_multilabel_classification():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0,
                                          return_indicator=True)
    X = StandardScaler().fit_transform(X)
    clf = RNNClassifier(solver="lbfgs", hidden_layer_sizes=(50,), alpha=1e-5, max_iter=150,
                        random_state=0)
    _fit_quietly(clf, X, Y)
    assert clf.score(X, Y) > 0.97
    assert_array_equal(clf.classes_, np.arange(5))
    assert clf.predict(X).shape == Y.shape
    inc = RNNClassifier(solver="sgd", hidden_layer_sizes=(50,), alpha=1e-5,
                        learning_rate_init=0.2, random_state=0)
    for _ in range(100):
        inc.partial_fit(X, Y, classes=[0, 1, 2, 3, 4])
    assert inc.score(X, Y) > 0.9
    # Early stopping works (the split is not stratified for multilabel y).
    _fit_quietly(RNNClassifier(early_stopping=True, max_iter=5, random_state=0), X, Y)


def test_predict_proba_multilabel_is_one_sigmoid_per_label():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0,
                                          return_indicator=True)
    X = StandardScaler().fit_transform(X)
    clf = _fit_quietly(RNNClassifier(solver="lbfgs", hidden_layer_sizes=(30,),
                                     random_state=0), X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    assert_array_equal(proba > 0.5, Y)
    assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    sums = proba.sum(axis=1) - 1
    assert sums.dot(sums) > 1e-10
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-7, atol=1e-12)


def test_multioutput_regression():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((200, 6))
    Y = X @ rng.standard_normal((6, 5)) / 3
    reg = LSTMRegressor(solver="lbfgs", hidden_layer_sizes=(50,), max_iter=200,
                        random_state=1)
    assert _fit_quietly(reg, X, Y).score(X, Y) > 0.9


def test_partial_fit_errors():
    X, y = [[3, 2], [1, 6]], [1, 0]
    clf = RNNClassifier(solver="sgd")
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="differs from the classes"):
        clf.partial_fit(X, y, classes=[1, 2])
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit([[1, 2]], [5])
    with pytest.raises(ValueError, match="classes must be passed"):
        RNNClassifier(solver="sgd").partial_fit(X, y)
    assert not hasattr(RNNClassifier(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_partial_fit_with_early_stopping_raises(Est):
    est = Est(early_stopping=True, max_iter=3, random_state=0)
    _fit_quietly(est, X_iris, _iris_target(Est))
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        est.partial_fit(X_iris, _iris_target(Est))
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        RNNClassifier(early_stopping=True).partial_fit([[0.0], [1.0]], [0, 1],
                                                       classes=[0, 1])


def test_partial_fit_regression_learns():
    y = X_iris @ np.array([1.0, -0.5, 0.3, 0.8])
    reg = LSTMRegressor(solver="sgd", hidden_layer_sizes=(16,), learning_rate_init=0.05,
                        random_state=0)
    for _ in range(100):
        reg.partial_fit(X_iris, y)
    assert reg.score(X_iris, y) > 0.9
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 100


def test_huge_input_is_refused_not_fitted_to_nan():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="non-finite|not finite"):
            LSTMRegressor(cell="rnn", activation="relu").fit(X, y)


def test_predict_proba_binary_and_multiclass():
    for X, y in [(X_digits_binary, y_digits_binary), (X_iris, y_iris)]:
        clf = _fit_quietly(RNNClassifier(hidden_layer_sizes=(8,), max_iter=30,
                                         random_state=0), X, y)
        proba = clf.predict_proba(X)
        assert proba.shape == (len(X), len(np.unique(y)))
        assert_allclose(proba.sum(axis=1), 1.0)
        assert_allclose(clf.predict_log_proba(X), np.log(proba))
        assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_shuffle_changes_training_and_seeds_reproduce_it():
    y = X_iris @ np.array([1.0, -0.5, 0.3, 0.8])
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=16, random_state=0)
    a = _fit_quietly(LSTMRegressor(shuffle=True, **kw), X_iris, y)
    b = _fit_quietly(LSTMRegressor(shuffle=True, **kw), X_iris, y)
    c = _fit_quietly(LSTMRegressor(shuffle=False, **kw), X_iris, y)
    assert_array_equal(a.predict(X_iris), b.predict(X_iris))
    assert not np.allclose(a.predict(X_iris), c.predict(X_iris))


def test_sparse_input_is_refused_with_a_clear_error():
    # Difference: MLP accepts sparse X; a batch of sequences has no sparse form here.
    with pytest.raises((TypeError, ValueError), match="[Ss]parse"):
        RNNClassifier().fit(sp.csr_matrix(X_iris), y_iris)


def test_tol_stops_before_max_iter():
    clf = RNNClassifier(tol=0.5, max_iter=3000, solver="sgd")
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.max_iter > clf.n_iter_


def test_verbose_prints_iterations(capsys):
    X, y = [[3, 2], [1, 6]], [1, 0]
    clf = RNNClassifier(solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=(2,))
    _fit_quietly(clf, X, y)
    clf.partial_fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Iteration") == 3


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_early_stopping_records_and_restores_the_best(Est):
    y = _iris_target(Est)
    est = Est(hidden_layer_sizes=(8,), early_stopping=True, max_iter=200, tol=0.0,
              n_iter_no_change=5, learning_rate_init=0.01, random_state=0)
    _fit_quietly(est, X_iris, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None
    assert est.n_iter_ < est.max_iter


def test_adaptive_learning_rate_shrinks_instead_of_stopping():
    clf = RNNClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive")
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.max_iter > clf.n_iter_
    assert clf._optimizer.learning_rate < 1e-6


def test_adam_follows_the_schedule_too():
    clf = RNNClassifier(learning_rate="invscaling", power_t=0.5, max_iter=3,
                        learning_rate_init=0.1)
    _fit_quietly(clf, X_iris, y_iris)
    assert isinstance(clf._optimizer, AdamOptimizer)
    assert clf._optimizer.learning_rate == pytest.approx(0.1 / (clf.t_ + 1) ** 0.5)


def test_warm_start_needs_the_same_classes():
    clf = RNNClassifier(hidden_layer_sizes=(2,), solver="lbfgs", warm_start=True,
                        random_state=42, tol=1e-2)
    _fit_quietly(clf, X_iris, y_iris)
    _fit_quietly(clf, X_iris, y_iris)
    for y_new in (np.array([0] * 75 + [1] * 75), np.array([0] * 50 + [1] * 50 + [3] * 50)):
        message = ("warm_start can only be used where `y` has the same classes as in the "
                   f"previous call to fit. Previously got [0 1 2], `y` has {np.unique(y_new)}")
        with pytest.raises(ValueError, match=re.escape(message)):
            clf.fit(X_iris, y_new)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_runs_max_iter_every_fit(Est):
    est = Est(hidden_layer_sizes=(2,), solver="sgd", warm_start=True, max_iter=3,
              n_iter_no_change=np.inf)
    _fit_quietly(est, X_iris, _iris_target(Est))
    assert est.n_iter_ == 3
    _fit_quietly(est, X_iris, _iris_target(Est))
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 6


def test_n_iter_no_change_counts_as_mlp():
    for n_iter_no_change in [2, 5, 10]:
        clf = RNNClassifier(tol=0.01, max_iter=3000, solver="sgd",
                            n_iter_no_change=n_iter_no_change)
        clf.fit(X_digits_binary, y_digits_binary)
        assert clf._no_improvement_count == n_iter_no_change + 1
        assert clf.max_iter > clf.n_iter_


def test_n_iter_no_change_inf_never_stops():
    clf = RNNClassifier(tol=1e9, max_iter=60, solver="sgd", n_iter_no_change=np.inf)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        clf.fit(X_digits_binary, y_digits_binary)
    assert clf.n_iter_ == 60
    # A tol above the trivial loss leaves no plateau to wait for (exit at epoch 0), so the
    # count is MLP's: every epoch after the first is no improvement by tol.
    assert clf._plateau_exit == 0
    assert clf._no_improvement_count == clf.n_iter_ - 1


def test_early_stopping_split_is_stratified_and_takes_string_labels():
    y = np.array(["setosa", "versicolor", "virginica"])[y_iris]
    clf = RNNClassifier(early_stopping=True, max_iter=3, random_state=0)
    _fit_quietly(clf, X_iris, y)
    assert set(clf.predict(X_iris)) <= set(y)
    # Difference: a class with one member cannot be stratified; the split falls back to a
    # plain random split (MLPClassifier raises).
    y_single = y_iris.copy()
    y_single[0] = 3
    _fit_quietly(RNNClassifier(early_stopping=True, max_iter=2, random_state=0),
                 X_iris, y_single)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(Est, dtype):
    est = _fit_quietly(Est(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
                       X_iris.astype(dtype), _iris_target(Est))
    assert all(w.dtype == dtype for w in est.weights_.values())
    out = est.predict_proba(X_iris) if Est is RNNClassifier else est.predict(X_iris)
    assert out.dtype == dtype


def test_partial_fit_continues_after_joblib_round_trip():
    reg = LSTMRegressor(hidden_layer_sizes=(4,), random_state=0)
    y = X_iris[:, 0]
    reg.partial_fit(X_iris, y)
    buf = io.BytesIO()
    joblib.dump(reg, buf)
    buf.seek(0)
    loaded = joblib.load(buf)
    loaded.partial_fit(X_iris, y)
    reg.partial_fit(X_iris, y)
    assert_allclose(loaded.predict(X_iris), reg.predict(X_iris))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_feature_names_are_kept(Est):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X_iris, columns=[f"f{i}" for i in range(4)])
    est = _fit_quietly(Est(max_iter=2, random_state=0), df, _iris_target(Est))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        est.predict(df)
    assert_array_equal(est.feature_names_in_, df.columns)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_with_early_stopping_extends_the_history(Est):
    est = Est(max_iter=10, random_state=0, warm_start=True, early_stopping=True)
    _fit_quietly(est, X_iris, _iris_target(Est))
    n_scores = len(est.validation_scores_)
    est.set_params(max_iter=20)
    _fit_quietly(est, X_iris, _iris_target(Est))
    assert len(est.validation_scores_) > n_scores


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_warm_start_without_convergence_stops_at_max_iter(Est, solver):
    est = Est(solver=solver, warm_start=True, max_iter=10, n_iter_no_change=np.inf,
              hidden_layer_sizes=(4,), random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_iris, _iris_target(Est))
    assert est.n_iter_ == 10
    est.set_params(max_iter=20)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_iris, _iris_target(Est))
    assert est.n_iter_ == 20


def test_diverging_loss_is_reported():
    # Difference: MLP goes on and records NaN validation scores; here training stops at the
    # first epoch whose loss is 100 times the best and the trivial loss, with a warning.
    reg = LSTMRegressor(hidden_layer_sizes=(16,), cell="rnn", solver="sgd",
                        learning_rate_init=1e10, max_iter=20, early_stopping=True,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            try:
                reg.fit(X_iris, X_iris[:, 0])
            except ValueError as exc:  # or the loss overflowed inside the first epoch
                assert "non-finite" in str(exc)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_unit_sample_weight_with_early_stopping_equals_none(Est):
    y = _iris_target(Est)
    kw = dict(hidden_layer_sizes=(10,), early_stopping=True, tol=1e-2, batch_size=10,
              learning_rate_init=0.01, max_iter=20, random_state=42)
    a = _fit_quietly(Est(**kw), X_iris, y, sample_weight=np.ones(len(y)))
    b = _fit_quietly(Est(**kw), X_iris, y)
    assert_allclose(a.predict(X_iris), b.predict(X_iris))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_validation_set_too_small_raises(Est):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2, 5)), np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="The validation set is too small"):
        Est(early_stopping=True, random_state=0).fit(X, y if Est is LSTMRegressor else
                                                     y.astype(int))
    # Ten sequences, validation_fraction=0.1: one validation sequence, no R² to score.
    X10 = rng.standard_normal((10, 4, 1))
    with pytest.raises(ValueError, match="The validation set is too small"):
        LSTMRegressor(early_stopping=True).fit(X10, X10[:, 0, 0])


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_loss_is_the_last_epochs_loss(Est, solver):
    est = _fit_quietly(Est(solver=solver, max_iter=5, hidden_layer_sizes=(4,),
                           random_state=0), X_iris, _iris_target(Est))
    assert est.loss_ == est.loss_curve_[-1]


def test_optimizers_are_rebuilt_by_every_fit():
    clf = RNNClassifier(warm_start=True, max_iter=2, random_state=0)
    _fit_quietly(clf, X_iris, y_iris)
    assert isinstance(clf._optimizer, AdamOptimizer)
    clf.set_params(solver="sgd", learning_rate_init=0.5)
    _fit_quietly(clf, X_iris, y_iris)
    assert isinstance(clf._optimizer, SGDOptimizer)
    assert clf._optimizer.learning_rate == 0.5
    state = pickle.loads(pickle.dumps(clf._optimizer))
    clf.partial_fit(X_iris, y_iris)  # partial_fit keeps the optimizer
    assert clf._optimizer is not state and isinstance(clf._optimizer, SGDOptimizer)
