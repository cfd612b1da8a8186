"""EchoStateRegressor and the reservoir: scikit-learn checks, spectral radius, readout,
washout, feedback, partial_fit, warm continuation, generation."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

import skrnn._esn as esn_module
import skrnn._reservoir as reservoir_module
from skrnn._esn import EchoStateRegressor
from skrnn._reservoir import (
    DENSE_EIGEN_LIMIT,
    normalised_reservoir,
    random_reservoir,
    spectral_radius,
)
from skrnn._reservoir_run import run_reservoir
from skrnn.datasets import make_mackey_glass, make_narma


def _nrmse(pred, true):
    return float(np.sqrt(np.mean((pred - true) ** 2)) / np.std(true))


def _sine(n=800, step=0.1):
    s = np.sin(np.arange(n + 1) * step)
    return s[None, :-1, None], s[None, 1:]


def _exact_radius(W):
    return float(np.max(np.abs(scipy.linalg.eigvals(W.toarray() if sp.issparse(W) else W))))


# ------------------------------------------------------------------ scikit-learn
@parametrize_with_checks([
    EchoStateRegressor(),
    # Noise is left out: with it, a repeated sequence gets fresh noise, unlike a weight.
    EchoStateRegressor(n_reservoir=30, density=1.0, feedback=True, washout=2,
                       include_input=False, leak_rate=0.5),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_grid_over_spectral_radius_and_leak_rate():
    X, y = _sine(300)
    X, y = np.repeat(X, 4, axis=0), np.repeat(y, 4, axis=0)
    grid = GridSearchCV(EchoStateRegressor(n_reservoir=30, washout=20, random_state=0),
                        {"spectral_radius": [0.5, 0.9], "leak_rate": [0.3, 1.0]}, cv=2)
    assert grid.fit(X, y).best_score_ > 0.99


# ------------------------------------------------------------------ the reservoir
@pytest.mark.parametrize("density", [1.0, 0.1])
def test_dense_spectral_radius_is_exact(density):
    W, rho = normalised_reservoir(300, density, np.random.default_rng(0),
                                  np.random.default_rng(1))
    assert sp.issparse(W) == (density < 1)
    assert _exact_radius(0.7 * W) == pytest.approx(0.7, abs=1e-9)
    assert rho > 1  # the drawn matrix, before normalisation


def test_fixed_in_degree():
    W = random_reservoir(200, 0.05, np.random.default_rng(0))
    assert np.all(np.diff(W.indptr) == 10) and W.has_sorted_indices
    for i in range(200):  # distinct columns in every row
        assert len(np.unique(W.indices[W.indptr[i]: W.indptr[i + 1]])) == 10
    assert random_reservoir(50, 0.001, np.random.default_rng(0)).nnz == 50  # one per unit


def test_sparse_spectral_radius_above_the_dense_limit():
    n = DENSE_EIGEN_LIMIT + 100
    W, _ = normalised_reservoir(n, 0.01, np.random.default_rng(1), np.random.default_rng(2))
    assert _exact_radius(0.8 * W) == pytest.approx(0.8, abs=1e-6)
    # Same seed, same reservoir.
    again, _ = normalised_reservoir(n, 0.01, np.random.default_rng(1),
                                    np.random.default_rng(2))
    assert (again != W).nnz == 0


@pytest.mark.parametrize("seed", range(5))
def test_arpack_radius_equals_dense_eigenvalues(monkeypatch, seed):
    # eigs(k=1) misses the radius of such reservoirs (many eigenvalues near the edge of
    # the circular law); six eigenvalues from a 40-vector Krylov space do not.
    monkeypatch.setattr(reservoir_module, "DENSE_EIGEN_LIMIT", 50)
    W = random_reservoir(600, 0.02, np.random.default_rng(seed))
    arpack = spectral_radius(W, np.random.default_rng(seed + 100))
    assert arpack == pytest.approx(_exact_radius(W), rel=1e-9)


def test_spectral_radius_is_scaled_at_run_time_not_recomputed(monkeypatch):
    X, y = _sine()
    esn = EchoStateRegressor(n_reservoir=50, spectral_radius=0.5, random_state=0).fit(X, y)
    calls = []
    monkeypatch.setattr(reservoir_module, "spectral_radius",
                        lambda *a, **k: calls.append(1) or 1.0)
    esn.set_params(spectral_radius=0.95, leak_rate=0.5)
    esn.predict(X)  # no refit: the new radius and leak are used at run time
    esn.partial_fit(X, y)  # nor when more data is added
    assert calls == []
    assert _exact_radius(esn._scaled_reservoir()) == pytest.approx(0.95, abs=1e-9)
    assert _exact_radius(esn.W_) == pytest.approx(1.0, abs=1e-9)  # W_ itself unchanged


def test_echo_state_property_warning():
    X, y = _sine(100)
    with pytest.warns(UserWarning, match="echo state property"):
        EchoStateRegressor(n_reservoir=20, spectral_radius=1.5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EchoStateRegressor(n_reservoir=20, spectral_radius=0.9, random_state=0).fit(X, y)
        # A leaky reservoir's effective radius (1 - a) + a * rho stays below 1.
        EchoStateRegressor(n_reservoir=20, spectral_radius=0.99, leak_rate=0.1,
                           random_state=0).fit(X, y)


def test_same_random_state_same_model_and_independent_streams():
    X, y = _sine(200)
    kw = dict(n_reservoir=40, feedback=True, noise=0.01)
    a = EchoStateRegressor(**kw, random_state=3).fit(X, y)
    b = EchoStateRegressor(**kw, random_state=3).fit(X, y)
    for name in ("W_in_", "W_back_", "bias_", "coef_", "intercept_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.W_ != b.W_).nnz == 0
    c = EchoStateRegressor(**kw, random_state=4).fit(X, y)
    assert not np.array_equal(a.W_in_, c.W_in_)
    # Independent streams: noise does not shift the reservoir's or the inputs' draws.
    d = EchoStateRegressor(n_reservoir=40, feedback=True, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.W_in_, d.W_in_)
    np.testing.assert_array_equal(a.W_back_, d.W_back_)
    assert not np.allclose(a.coef_, d.coef_)


# ------------------------------------------------------------------ readout
def test_readout_is_ridge_on_input_and_states_with_unpenalised_intercept():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40, 2))
    Y = np.stack([np.cumsum(X[..., 0], axis=1) * 0.1, X[..., 1] ** 2], axis=2) + 5.0
    esn = EchoStateRegressor(n_reservoir=30, alpha=0.3, washout=4, random_state=0)
    states = esn.fit(X, Y).transform(X)
    F = np.concatenate([X, states], axis=2)[:, 4:].reshape(-1, 32)
    ridge = Ridge(alpha=0.3).fit(F, Y[:, 4:].reshape(-1, 2))
    np.testing.assert_allclose(esn.coef_, ridge.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(esn.intercept_, ridge.intercept_, rtol=1e-9)
    assert esn.n_steps_seen_ == 3 * 36


def test_partial_fit_over_chunks_equals_fit():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((int(L), 2)) for L in rng.integers(20, 40, 6)]
    ys = [np.column_stack([s[:, 0] * 2, np.cumsum(s[:, 1]) * 0.1]) for s in seqs]
    sw = rng.uniform(0.5, 2, 6)
    kw = dict(n_reservoir=40, washout=5, alpha=1e-4, random_state=0)
    full = EchoStateRegressor(**kw).fit(seqs, ys, sample_weight=sw)
    inc = EchoStateRegressor(**kw)
    for i in range(0, 6, 2):
        inc.partial_fit(seqs[i: i + 2], ys[i: i + 2], sample_weight=sw[i: i + 2])
    np.testing.assert_allclose(inc.coef_, full.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(inc.intercept_, full.intercept_, rtol=1e-8, atol=1e-10)


def test_partial_fit_continuing_one_long_series_equals_fit():
    X, y = _sine(900)
    kw = dict(n_reservoir=40, washout=50, leak_rate=0.5, feedback=True, alpha=1e-4,
              random_state=0)
    full = EchoStateRegressor(**kw).fit(X, y)
    inc = EchoStateRegressor(**kw)
    inc.partial_fit(X[:, :300], y[:, :300])
    inc.partial_fit(X[:, 300:650], y[:, 300:650], continue_state=True)
    inc.partial_fit(X[:, 650:], y[:, 650:], continue_state=True)
    for name in ("weight", "mean_f", "mean_y", "cov_ff", "cov_fy", "ss_y"):
        np.testing.assert_allclose(getattr(inc._stats, name), getattr(full._stats, name),
                                   rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(inc.last_state_, full.last_state_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(inc.coef_, full.coef_, rtol=1e-6, atol=1e-8)
    # Without continue_state, every chunk is a new sequence with its own washout.
    sep = EchoStateRegressor(**kw)
    sep.partial_fit(X[:, :300], y[:, :300])
    sep.partial_fit(X[:, 300:], y[:, 300:])
    assert sep.n_steps_seen_ == full.n_steps_seen_ - 50


def test_continue_state_errors():
    X, y = _sine(100)
    with pytest.raises(ValueError, match="needs a previous fit"):
        EchoStateRegressor(n_reservoir=10).partial_fit(X, y, continue_state=True)
    esn = EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="continues 1 sequence"):
        esn.partial_fit(np.repeat(X, 2, 0), np.repeat(y, 2, 0), continue_state=True)
    with pytest.raises(ValueError, match="same shape"):
        esn.partial_fit(X, np.stack([y, y], axis=2))


def test_sample_weight_equals_repetition():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((15, 1)) for _ in range(4)]
    ys = [s[:, 0] ** 2 for s in seqs]
    a = EchoStateRegressor(n_reservoir=30, alpha=1e-3, random_state=0).fit(
        seqs, ys, sample_weight=[1, 2, 0, 3])
    b = EchoStateRegressor(n_reservoir=30, alpha=1e-3, random_state=0).fit(
        [seqs[0], seqs[1], seqs[1], seqs[3], seqs[3], seqs[3]],
        [ys[0], ys[1], ys[1], ys[3], ys[3], ys[3]])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-7)
    score_w = a.score(seqs, ys, sample_weight=[1, 2, 0, 3])
    assert score_w == pytest.approx(a.score([seqs[0], seqs[1], seqs[1], seqs[3], seqs[3],
                                             seqs[3]], [ys[0], ys[1], ys[1], ys[3], ys[3],
                                                        ys[3]]))


def test_washout_removes_exactly_the_first_steps_of_every_sequence():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((L, 1)) for L in (10, 4, 1)]
    ys = [s[:, 0] for s in seqs]
    esn = EchoStateRegressor(n_reservoir=20, washout=3, random_state=0).fit(seqs, ys)
    # 10 - 3 + 4 - 3 + 1 - 0 (a length-1 sequence keeps its only step) = 9 steps.
    assert esn.n_steps_seen_ == 9
    # Corrupting the washed-out targets changes nothing; corrupting the next step does.
    bad = [y.copy() for y in ys]
    bad[0][:3], bad[1][:3] = 1e6, -1e6
    other = EchoStateRegressor(n_reservoir=20, washout=3, random_state=0).fit(seqs, bad)
    np.testing.assert_array_equal(other.coef_, esn.coef_)
    bad[0][3] = 1e6
    changed = EchoStateRegressor(n_reservoir=20, washout=3, random_state=0).fit(seqs, bad)
    assert not np.allclose(changed.coef_, esn.coef_)
    # Equal lengths (the contiguous fast path) drop the same steps as the masked path.
    X3 = rng.standard_normal((3, 12, 1))
    y3 = np.sin(X3[..., 0])
    a = EchoStateRegressor(n_reservoir=20, washout=5, random_state=0).fit(X3, y3)
    b = EchoStateRegressor(n_reservoir=20, washout=5, random_state=0).fit(list(X3),
                                                                          list(y3))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)
    assert a.n_steps_seen_ == 3 * 7
    # The score ignores the washed-out steps too.
    y_bad = y3.copy()
    y_bad[:, :5] = 100.0
    assert a.score(X3, y_bad) == pytest.approx(a.score(X3, y3))


def test_include_input_and_multi_output_shapes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 12, 2))
    Y = np.stack([X[..., 0], X[..., 1] * 2], axis=2)
    esn = EchoStateRegressor(n_reservoir=25, random_state=0).fit(X, Y)
    assert esn.coef_.shape == (2, 27) and esn.predict(X).shape == (3, 12, 2)
    assert esn.score(X, Y) > 0.999  # the input is in the readout
    bare = EchoStateRegressor(n_reservoir=25, include_input=False, random_state=0).fit(X, Y)
    assert bare.coef_.shape == (2, 25)
    states = esn.transform(X)
    assert states.shape == (3, 12, 25)
    ragged = esn.transform([X[0, :5], X[1]])
    assert [s.shape for s in ragged] == [(5, 25), (12, 25)]
    np.testing.assert_allclose(ragged[0], states[0, :5], atol=1e-12)
    assert esn.transform(X[:, 0]).shape == (3, 25)  # 2-D input: length-1 sequences
    pred_ragged = esn.predict([X[0, :5], X[1]])
    assert [p.shape for p in pred_ragged] == [(5, 2), (12, 2)]


def test_padded_3d_predictions_hold_nan_at_padding():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 6, 1))
    X[1, 4:] = np.nan
    y = np.nan_to_num(X[:, :, 0])
    y[1, 4:] = np.nan
    esn = EchoStateRegressor(n_reservoir=20, random_state=0).fit(X, y)
    pred = esn.predict(X)
    assert np.all(np.isnan(pred[1, 4:])) and np.all(np.isfinite(pred[0]))
    np.testing.assert_allclose(pred[1, :4], esn.predict([X[1, :4]])[0], atol=1e-12)


def test_bad_initial_state():
    X, y = _sine(50)
    esn = EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="initial_state must be None"):
        esn.predict(X, initial_state="first")
    with pytest.raises(ValueError, match=r"shape \(1, 10\)"):
        esn.predict(X, initial_state=np.zeros((1, 11)))


# ------------------------------------------------------------------ warm continuation
@pytest.mark.parametrize("feedback", [False, True])
def test_warm_continuation_from_the_last_state(feedback):
    X, y = _sine(400)
    esn = EchoStateRegressor(n_reservoir=30, leak_rate=0.5, feedback=feedback,
                             random_state=0).fit(X[:, :250], y[:, :250])
    whole = esn.predict(X) if not feedback else None
    cont = esn.predict(X[:, 250:], initial_state="last")
    cold = esn.predict(X[:, 250:])
    if not feedback:  # the same states as running through the whole series
        np.testing.assert_allclose(cont, whole[:, 250:], atol=1e-10)
    assert not np.allclose(cont[:, :5], cold[:, :5])
    explicit = esn.predict(X[:, 250:], initial_state=esn.last_state_)
    if not feedback:
        np.testing.assert_allclose(explicit, cont, atol=0)


# ------------------------------------------------------------------ feedback, generation
def test_feedback_is_teacher_forced_in_fit():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 30, 1))
    Y = np.cumsum(X[..., 0], axis=1) * 0.1
    esn = EchoStateRegressor(n_reservoir=20, feedback=True, alpha=1e-2,
                             random_state=0).fit(X, Y)
    # States driven by [u_t, y_{t-1}] with the TRUE previous target (zero at t = 0).
    Y_prev = np.zeros_like(Y)
    Y_prev[:, 1:] = Y[:, :-1]
    U = np.concatenate([X, Y_prev[..., None]], axis=2).transpose(1, 0, 2)
    states, _ = run_reservoir(U, np.array([30, 30]), np.hstack([esn.W_in_, esn.W_back_]),
                              esn._scaled_reservoir(), esn.bias_)
    F = np.concatenate([X.transpose(1, 0, 2), states], axis=2).reshape(-1, 21)
    ridge = Ridge(alpha=1e-2).fit(F, Y.T.reshape(-1))
    np.testing.assert_allclose(esn.coef_[0], ridge.coef_, rtol=1e-6, atol=1e-9)


def test_feedback_learns_an_autonomous_oscillator():
    # No input at all: the output must come from the fed-back previous output.
    n = 600
    target = np.sin(np.arange(n) * 0.2)[None]
    X = np.zeros((1, n, 1))
    esn = EchoStateRegressor(n_reservoir=60, feedback=True, washout=100, spectral_radius=0.8,
                             alpha=1e-8, random_state=0).fit(X, target)
    assert esn.W_back_.shape == (60, 1)
    # Continuing from the training state, the free run follows the sine.
    cont = esn.predict(np.zeros((1, 100, 1)), initial_state="last")
    future = np.sin(np.arange(n, n + 100) * 0.2)
    assert _nrmse(cont[0], future) < 0.1
    without = EchoStateRegressor(n_reservoir=60, washout=100, random_state=0).fit(X, target)
    assert without.score(X, target) < 0.1  # no feedback, no way to know the phase


@pytest.mark.parametrize("params", [
    dict(feedback=False),
    # Input and feedback both carry the previous value here; closed loops are sensitive
    # to how strongly it drives the reservoir, so both scalings are small.
    dict(feedback=True, feedback_scaling=0.1, input_scaling=0.1),
])
def test_generation_is_stable_on_a_sine_wave(params):
    s = np.sin(np.arange(1601) * 0.1)
    esn = EchoStateRegressor(n_reservoir=100, washout=100, alpha=1e-6, spectral_radius=0.9,
                             random_state=0, **params)
    esn.fit(s[None, :1000, None], s[None, 1:1001])
    forecast = esn.generate(s[None, :1000, None], n_steps=600)
    assert forecast.shape == (1, 600, 1)
    assert _nrmse(forecast[0, :, 0], s[1000:1600]) < 0.05
    assert np.max(np.abs(forecast)) < 1.05  # bounded: no drift or blow-up
    if not params["feedback"]:  # the first forecast is the last warm-up step's prediction
        last = esn.predict(s[None, :1000, None])[0, -1]
        assert forecast[0, 0, 0] == pytest.approx(last, abs=1e-12)


def test_generate_continues_several_series():
    t = np.arange(500) * 0.1
    X = np.stack([np.sin(t), np.cos(t)])[:, :, None]
    esn = EchoStateRegressor(n_reservoir=60, washout=50, random_state=0)
    esn.fit(X[:, :-1], X[:, 1:, 0])
    out = esn.generate([X[0, :300], X[1, :400]], n_steps=50)
    np.testing.assert_allclose(out[0, :, 0], X[0, 300:350, 0], atol=0.05)
    np.testing.assert_allclose(out[1, :, 0], X[1, 400:450, 0], atol=0.05)


def test_generate_needs_a_one_step_forecaster():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1, 50, 2))
    esn = EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, X[:, :, 0])
    with pytest.raises(ValueError, match="one-step-ahead forecaster"):
        esn.generate(X, 5)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        EchoStateRegressor(n_reservoir=10, random_state=0).fit(X, X).generate(X, 0)


# ------------------------------------------------------------------ benchmarks (small)
def test_mackey_glass_one_step_ahead_and_closed_loop():
    x = make_mackey_glass(1900, n_discard=200)
    x = (x - x.mean()) / x.std()
    U, Y = x[:-1], x[1:]
    esn = EchoStateRegressor(n_reservoir=300, spectral_radius=0.8, input_scaling=0.5,
                             bias_scaling=0.5, alpha=1e-10, washout=100, random_state=0)
    esn.fit(U[None, :1200, None], Y[None, :1200])
    pred = esn.predict(U[None, :1500, None])[0]
    assert _nrmse(pred[1200:], Y[1200:1500]) < 1e-4
    free = esn.generate(U[None, :1200, None], n_steps=300)[0, :, 0]
    assert _nrmse(free, U[1200:1500]) < 0.1


def test_narma10():
    u, y = make_narma(2200, random_state=0)
    X, t = u[None, :, None], y[None]
    esn = EchoStateRegressor(n_reservoir=300, spectral_radius=0.9, input_scaling=0.2,
                             bias_scaling=0.2, alpha=1e-6, washout=100, random_state=0)
    esn.fit(X[:, :1500], t[:, :1500])
    pred = esn.predict(X)[0]
    assert _nrmse(pred[1600:], y[1600:]) < 0.3


def test_module_names_are_importable():
    assert esn_module.EchoStateRegressor is EchoStateRegressor
