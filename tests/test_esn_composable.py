"""The composable reservoir: readout statistics against Ridge, topologies, bounded-memory
chunked runs, safe loading, the classifier and the unsupervised transformer."""

import doctest
import io
import tracemalloc
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

import skrnn._reservoir_chunks as chunks_module
from skrnn import EchoStateClassifier, EchoStateRegressor, EchoStateTransformer
from skrnn._readout import RidgeStatistics
from skrnn._reservoir import (
    check_reservoir_matrix,
    cycle_reservoir,
    delay_line_reservoir,
    make_reservoir,
)
from skrnn._reservoir_run import Reservoir


def _radius(W):
    return float(np.max(np.abs(scipy.linalg.eigvals(W.toarray() if sp.issparse(W) else W))))


def _classes(n=80, T=25, seed=0, ragged=False):
    """Two classes told apart by the sign of the mean of feature 0."""
    rng = np.random.default_rng(seed)
    if ragged:
        X = [rng.standard_normal((int(L), 2)) for L in rng.integers(10, 40, n)]
    else:
        X = list(rng.standard_normal((n, T, 2)))
    y = np.array(["up" if x[:, 0].mean() > 0 else "down" for x in X])
    return (X if ragged else np.asarray(X)), y


# ------------------------------------------------------------------ readout statistics
@pytest.mark.parametrize("offset", [0.0, 1e3, 1e6])
def test_statistics_match_ridge_at_large_offsets(offset):
    rng = np.random.default_rng(0)
    F = rng.standard_normal((600, 8)) + offset
    Y = F[:, :2] @ rng.standard_normal((2, 3)) - 2 * offset + 0.1 * rng.standard_normal(
        (600, 3))
    w = rng.uniform(0.5, 2.0, 600)
    stats = RidgeStatistics(8, 3)
    for part in np.array_split(np.arange(600), 7):  # chunked, as the estimators do
        stats.update(F[part].copy(), Y[part], w[part])
    coef, intercept = stats.solve(alpha=0.1)
    ridge = Ridge(alpha=0.1).fit(F, Y, sample_weight=w)
    ours, theirs = F @ coef.T + intercept, ridge.predict(F)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8 * np.abs(theirs).max())


def test_regressor_readout_matches_ridge_at_offset_1e6():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 50, 2)) * 0.01 + 1e6
    y = X[:, :, 0] - 1e6 + 0.5 * X[:, :, 1] + 1e6
    esn = EchoStateRegressor(n_reservoir=20, input_scaling=1e-6, alpha=1e-3,
                             random_state=0).fit(X, y)
    states = esn.transform(X).reshape(-1, 20)
    feats = np.hstack([X.reshape(-1, 2), states])
    ridge = Ridge(alpha=1e-3).fit(feats, y.ravel())
    np.testing.assert_allclose(esn.predict(X).ravel(), ridge.predict(feats), rtol=1e-8)


def test_statistics_do_not_depend_on_how_rows_are_split():
    rng = np.random.default_rng(2)
    F, Y = rng.standard_normal((300, 5)), rng.standard_normal((300, 2))
    one = RidgeStatistics(5, 2).update(F.copy(), Y)
    many = RidgeStatistics(5, 2)
    for part in np.array_split(np.arange(300), 5):
        many.merge(RidgeStatistics(5, 2).update(F[part].copy(), Y[part]))
    for name in ("weight", "mean_f", "mean_y", "cov_ff", "cov_fy", "ss_y"):
        np.testing.assert_allclose(getattr(one, name), getattr(many, name), atol=1e-10)


# ------------------------------------------------------------------ topologies
def test_cycle_and_delay_line():
    C, D = cycle_reservoir(30), delay_line_reservoir(30)
    assert _radius(C) == pytest.approx(1.0, abs=1e-12)
    assert C.nnz == 30 and D.nnz == 29
    assert np.allclose(np.linalg.matrix_power(D.toarray(), 30), 0)  # nilpotent
    rng = np.random.default_rng(0)
    W, rho = make_reservoir("delay_line", 30, 0.1, rng, rng)
    assert rho == 0.0 and W.nnz == 29  # kept as is: spectral_radius is its weight


@pytest.mark.parametrize("reservoir", [
    "random", "cycle", "delay_line",
    np.random.default_rng(0).uniform(-1, 1, (25, 25)),
    sp.random(25, 25, density=0.3, random_state=0, format="csr"),
    lambda n, rng: rng.standard_normal((n, n)),
])
def test_every_topology_fits_and_user_matrices_are_normalised(reservoir):
    X = np.sin(np.arange(301) * 0.2)[None, :, None]
    esn = EchoStateRegressor(n_reservoir=25, reservoir=reservoir, washout=30,
                             random_state=0).fit(X[:, :-1], X[:, 1:, 0])
    assert esn.score(X[:, :-1], X[:, 1:, 0]) > 0.99
    if not isinstance(reservoir, str) or reservoir in ("random", "cycle"):
        assert _radius(esn.W_) == pytest.approx(1.0, abs=1e-9)


def test_user_matrix_of_the_wrong_shape_is_an_error():
    X = np.zeros((2, 5, 1))
    with pytest.raises(ValueError, match=r"\(20, 20\); got dtype float64 and shape \(10, 10\)"):
        EchoStateRegressor(n_reservoir=20, reservoir=np.eye(10)).fit(X, X[:, :, 0])


# ------------------------------------------------------------------ safe loading
def _corrupt(esn, how):
    W = esn.W_
    if how == "index_out_of_range":
        W.indices[3] = 10**6
    elif how == "negative_index":
        W.indices[3] = -5
    elif how == "indptr_decreasing":
        W.indptr[5] = W.indptr[7] + 1
    elif how == "wrong_shape":
        esn.W_ = sp.csr_matrix(np.eye(7))


@pytest.mark.parametrize("how", ["index_out_of_range", "negative_index", "indptr_decreasing",
                                 "wrong_shape"])
def test_crafted_skops_file_gives_a_clear_error_not_a_crash(how):
    sio = pytest.importorskip("skops.io")
    X = np.random.default_rng(0).standard_normal((3, 20, 2))
    esn = EchoStateRegressor(n_reservoir=30, random_state=0).fit(X, X[:, :, 0])
    _corrupt(esn, how)
    data = sio.dumps(esn)  # a file naming only the documented types
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    with pytest.raises(ValueError, match="reservoir"):
        loaded.predict(X)
    with pytest.raises(ValueError, match="reservoir"):
        loaded.transform(X)


def test_inconsistent_input_weights_are_a_clear_error():
    X = np.random.default_rng(0).standard_normal((3, 20, 2))
    esn = EchoStateRegressor(n_reservoir=30, random_state=0).fit(X, X[:, :, 0])
    esn.W_in_ = esn.W_in_[:, :1]
    with pytest.raises(ValueError, match=r"W_in_ has shape \(30, 1\); the model expects"):
        esn.predict(X)


def test_check_reservoir_matrix_accepts_what_the_generators_make():
    for W in (cycle_reservoir(10), delay_line_reservoir(10), np.eye(10)):
        check_reservoir_matrix(W, 10)
    with pytest.raises(ValueError, match="non-finite"):
        check_reservoir_matrix(np.full((3, 3), np.nan), 3)
    # Malformations SciPy itself refuses to save; a hand-edited file could still hold them.
    W = cycle_reservoir(10)
    W.indptr = W.indptr.copy()
    W.indptr[-1] += 5
    with pytest.raises(ValueError, match="indptr ends at 15"):
        check_reservoir_matrix(W, 10)
    W = cycle_reservoir(10)
    W.indices = W.indices.astype(np.float64)
    with pytest.raises(ValueError, match="indices must be a 1-D integer array"):
        check_reservoir_matrix(W, 10)


# ------------------------------------------------------------------ structural parameters
@pytest.mark.parametrize("change", [dict(feedback=True), dict(include_input=False),
                                    dict(n_reservoir=7)])
def test_structural_set_params_after_fit_is_a_clear_error(change):
    X = np.random.default_rng(0).standard_normal((3, 20, 2))
    esn = EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, X[:, :, 0])
    esn.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} was changed .* Call fit again"):
        esn.predict(X)
    esn.fit(X, X[:, :, 0])  # a refit makes it usable again
    assert np.isfinite(esn.predict(X)).all()


def test_run_time_parameters_still_change_after_fit():
    X = np.random.default_rng(0).standard_normal((3, 20, 2))
    esn = EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, X[:, :, 0])
    before = esn.predict(X)
    esn.set_params(spectral_radius=0.5, leak_rate=0.5)
    assert not np.allclose(esn.predict(X), before)


# ------------------------------------------------------------------ float32, verbose
def test_float32_in_float32_out():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40, 2))
    y = np.cumsum(X[:, :, 0], axis=1) * 0.1
    X32 = X.astype(np.float32)
    esn = EchoStateRegressor(n_reservoir=40, random_state=0)
    p64 = esn.fit(X, y).predict(X)
    p32 = esn.fit(X32, y).predict(X32)
    assert p32.dtype == np.float32 and esn.transform(X32).dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-3)
    Xc, yc = _classes()
    clf = EchoStateClassifier(n_reservoir=30, random_state=0).fit(Xc.astype(np.float32), yc)
    assert clf.decision_function(Xc.astype(np.float32)).dtype == np.float32
    tr = EchoStateTransformer(n_reservoir=30).fit(Xc)
    assert tr.transform(Xc.astype(np.float32)).dtype == np.float32


def test_verbose_reports_progress_and_silent_by_default():
    X, y = _classes(ragged=True)
    out = io.StringIO()
    with redirect_stdout(out):
        EchoStateClassifier(n_reservoir=20, random_state=0).fit(X, y)
    assert out.getvalue() == ""
    with redirect_stdout(out):
        EchoStateClassifier(n_reservoir=20, random_state=0, verbose=1).fit(X, y)
    assert "[EchoStateClassifier] chunk 1/" in out.getvalue()


# ------------------------------------------------------------------ bounded memory
def _ragged_extreme(n_short=2000, long=20_000, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((1, 1)) for _ in range(n_short)]
    X.insert(n_short // 2, rng.standard_normal((long, 1)))
    return X


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ragged_extremes_run_in_bounded_memory(monkeypatch):
    # 2000 length-1 sequences and one of 20,000 steps: one padded run would need
    # 20,000 x 2001 x 50 states, 16 GB in float64.
    monkeypatch.setattr(chunks_module, "WORKING_ELEMENTS", 2**16)
    block = 2**16 * 8
    X = _ragged_extreme()
    y = [x[:, 0] * 0.5 for x in X]
    kw = dict(n_reservoir=50, random_state=0)
    model_bytes = 50 * 50 * 16 + 50 * 8 * 4
    esn, peak = _peak(lambda: EchoStateRegressor(**kw).fit(X, y))
    out_bytes = 22_000 * 8
    assert peak < 2 * out_bytes + model_bytes + 8 * block, peak
    pred, peak = _peak(lambda: esn.predict(X))
    assert sum(p.nbytes for p in pred) == out_bytes
    assert peak < 2 * out_bytes + 2001 * 120 + 8 * block, peak  # + the list's own arrays
    _, peak = _peak(lambda: esn.partial_fit(X, y))
    assert peak < 2 * out_bytes + model_bytes + 8 * block, peak
    tr = EchoStateTransformer(**kw).fit(X)
    F, peak = _peak(lambda: tr.transform(X))
    assert F.shape == (2001, 2 * 51)
    assert peak < 2 * F.nbytes + 8 * block, peak
    _, peak = _peak(lambda: EchoStateClassifier(**kw).fit(X, np.arange(2001) % 2))
    assert peak < 2 * F.nbytes + 8 * block, peak


def test_chunked_runs_equal_one_padded_run(monkeypatch):
    rng = np.random.default_rng(3)
    X = [rng.standard_normal((int(L), 2)) for L in rng.integers(1, 120, 40)]
    y = [np.cumsum(x[:, 0]) * 0.1 for x in X]
    kw = dict(n_reservoir=30, washout=5, feedback=False, random_state=0)
    big = EchoStateRegressor(**kw).fit(X, y)
    F_big = EchoStateTransformer(n_reservoir=30, washout=5, random_state=0).fit_transform(X)
    monkeypatch.setattr(chunks_module, "WORKING_ELEMENTS", 600)  # many chunks and blocks
    assert len(chunks_module.plan_chunks(np.array([len(x) for x in X]), 30)) > 5
    small = EchoStateRegressor(**kw).fit(X, y)
    np.testing.assert_allclose(small.coef_, big.coef_, rtol=1e-7, atol=1e-9)
    for a, b in zip(small.predict(X), big.predict(X)):
        np.testing.assert_allclose(a, b, atol=1e-10)
    F_small = EchoStateTransformer(n_reservoir=30, washout=5, random_state=0).fit_transform(X)
    np.testing.assert_allclose(F_small, F_big, atol=1e-12)


def test_ragged_errors_name_the_sequence_by_its_position_in_X():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((int(L), 2)) for L in rng.integers(5, 50, 30)]
    X[17][2, 1] = np.nan
    with pytest.raises(ValueError, match="sequence 17 at step 2"):
        EchoStateTransformer(n_reservoir=10).fit(X)
    y = [x[:, 0] for x in X[:-1]] + [np.zeros(3)]
    X[17][2, 1] = 0.0
    mixed = X[:20] + [rng.standard_normal((80, 3))]  # the longest comes first in its chunk
    with pytest.raises(ValueError, match="Sequence 20 of X has 3 features but sequence 0 "):
        EchoStateTransformer(n_reservoir=10).fit(mixed)
    with pytest.raises(ValueError, match="Target sequence 29 has 3 steps"):
        EchoStateRegressor(n_reservoir=10).fit(X, y)


# ------------------------------------------------------------------ generation
def test_generate_steps_without_the_whole_sequence_runner(monkeypatch):
    s = np.sin(np.arange(401) * 0.1)
    esn = EchoStateRegressor(n_reservoir=40, washout=50, random_state=0)
    esn.fit(s[None, :-1, None], s[None, 1:])
    calls = []
    original = Reservoir.run
    monkeypatch.setattr(Reservoir, "run", lambda self, *a, **k: calls.append(1) or
                        original(self, *a, **k))
    esn.generate(s[None, :-1, None], n_steps=200)
    assert len(calls) == 1  # the warm-up; the 200 steps use Reservoir.step


def test_a_diverging_free_run_warns():
    s = np.sin(np.arange(401) * 0.1)
    esn = EchoStateRegressor(n_reservoir=40, activation="identity", washout=50,
                             random_state=0).fit(s[None, :-1, None], s[None, 1:])
    esn.set_params(spectral_radius=1.5, leak_rate=1.0)
    with pytest.warns(UserWarning, match="left the range of the training targets"):
        esn.generate(s[None, :-1, None], n_steps=300)


# ------------------------------------------------------------------ the classifier
@pytest.mark.parametrize("ragged", [False, True])
def test_classifier_in_pipeline_grid_search_and_cross_validate(ragged):
    X, y = _classes(n=120, ragged=ragged)
    clf = EchoStateClassifier(n_reservoir=40, random_state=0)
    cv = cross_validate(clf, X, y, cv=3)
    assert cv["test_score"].mean() > 0.8
    grid = GridSearchCV(clf, {"spectral_radius": [0.5, 0.9],
                              "features": ["last", "last_mean"]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.8
    pipe = make_pipeline(EchoStateTransformer(n_reservoir=40, random_state=0),
                         LogisticRegression(max_iter=1000)).fit(X, y)
    assert pipe.score(X, y) > 0.85
    assert set(pipe.predict(X)) <= {"up", "down"}


def test_classifier_is_ridge_classifier_on_the_transformer_features():
    X, y = _classes(n=60, T=15)
    kw = dict(n_reservoir=25, washout=3, features="last_mean", random_state=0)
    clf = EchoStateClassifier(alpha=0.5, **kw).fit(X, y)
    F = EchoStateTransformer(**kw).fit_transform(X)
    ridge = RidgeClassifier(alpha=0.5).fit(F, y)
    np.testing.assert_allclose(clf.decision_function(X), ridge.decision_function(F),
                               rtol=1e-8, atol=1e-10)
    assert not hasattr(clf, "predict_proba")  # ridge scores are not probabilities


def test_classifier_multiclass_and_sample_weight_equals_repetition():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((45, 12, 1))
    y = np.digitize(X[:, -4:, 0].mean(axis=1), [-0.3, 0.3])
    clf = EchoStateClassifier(n_reservoir=20, random_state=0)
    scores = clf.fit(X, y).decision_function(X)
    assert scores.shape == (45, 3) and clf.score(X, y) > 0.8
    w = rng.integers(0, 3, 45)
    a = clone(clf).fit(X, y, sample_weight=w).decision_function(X)
    b = clone(clf).fit(np.repeat(X, w, axis=0), np.repeat(y, w)).decision_function(X)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ the transformer
def test_transformer_needs_no_y_and_works_as_a_pipeline_step():
    X, y = _classes(n=100)
    EchoStateTransformer(n_reservoir=30).fit(X)  # no y at all
    pipe = make_pipeline(EchoStateTransformer(n_reservoir=30, random_state=0),
                         RidgeClassifier())
    assert cross_validate(pipe, X, y, cv=3)["test_score"].mean() > 0.8
    # Regression on one value per sequence, too.
    target = X[:, -5:, 0].sum(axis=1)
    reg = make_pipeline(EchoStateTransformer(n_reservoir=60, random_state=0), Ridge(1e-3))
    assert reg.fit(X, target).score(X, target) > 0.9


def test_transformer_feature_names_and_set_output():
    pd = pytest.importorskip("pandas")
    X, _ = _classes(n=20)
    tr = EchoStateTransformer(n_reservoir=5, random_state=0).fit(X)
    names = tr.get_feature_names_out()
    assert list(names[:3]) == ["last_x0", "last_x1", "last_state0"]
    assert list(names[-1:]) == ["mean_state4"] and len(names) == 14
    df = tr.set_output(transform="pandas").transform(X)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)
    frame = pd.DataFrame(X[:, 0], columns=["a", "b"])  # 2-D: length-1 sequences
    tr2 = EchoStateTransformer(n_reservoir=3, features="last").fit(frame)
    assert list(tr2.get_feature_names_out()) == ["last_a", "last_b", "last_state0",
                                                 "last_state1", "last_state2"]
    steps = EchoStateTransformer(n_reservoir=3, features="steps").fit(X)
    assert steps.transform(X).shape == (20, 25, 5)
    with pytest.raises(ValueError, match="2-D output only"):
        steps.set_output(transform="pandas").transform(X)


def test_transformer_summaries():
    X, _ = _classes(n=10, T=30)
    kw = dict(n_reservoir=8, washout=10, include_input=False, random_state=0)
    states = EchoStateTransformer(features="steps", **kw).fit_transform(X)
    last = EchoStateTransformer(features="last", **kw).fit_transform(X)
    mean = EchoStateTransformer(features="mean", **kw).fit_transform(X)
    np.testing.assert_allclose(last, states[:, -1], atol=1e-12)
    np.testing.assert_allclose(mean, states[:, 10:].mean(axis=1), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EchoStateTransformer(**kw).fit(X).transform(X)


def test_a_grid_over_spectral_radius_computes_eigenvalues_once(monkeypatch):
    import skrnn._esn_base as base_module
    import skrnn._reservoir as reservoir_module

    monkeypatch.setattr(base_module, "_NORMALISED_CACHE", {})
    calls = []
    original = reservoir_module.spectral_radius
    monkeypatch.setattr(reservoir_module, "spectral_radius",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    X, y = _classes(n=60)
    grid = GridSearchCV(EchoStateClassifier(n_reservoir=30, random_state=0),
                        {"spectral_radius": [0.3, 0.5, 0.7, 0.9, 0.99]}, cv=2).fit(X, y)
    assert len(calls) == 1  # 11 fits, one eigenvalue computation
    assert _radius(grid.best_estimator_.W_) == pytest.approx(1.0, abs=1e-9)
    # A fitted matrix is the estimator's own: altering it leaves the next fit unharmed.
    grid.best_estimator_.W_.data[:] = 0
    fresh = EchoStateClassifier(n_reservoir=30, random_state=0).fit(X, y)
    assert _radius(fresh.W_) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("cls", [EchoStateClassifier, EchoStateTransformer])
def test_docstring_examples_hold(cls):
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(cls, globs={}):
        runner.run(test)
    assert runner.tries > 0 and runner.failures == 0
