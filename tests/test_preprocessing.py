"""Tests of skrnn.preprocessing: SequenceScaler and the forecasting windows of make_windows."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skrnn import LSTMRegressor, RNNClassifier
from skrnn.preprocessing import (
    PerSequenceScaler,
    PiecewiseAggregate,
    SequenceScaler,
    make_windows,
)


@parametrize_with_checks([SequenceScaler(), PerSequenceScaler(), PiecewiseAggregate(),
                          PiecewiseAggregate(n_timesteps=1)])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def _ragged(rng, n=7, d=3, loc=5.0, scale=3.0):
    lengths = rng.integers(1, 9, size=n)
    return [loc + scale * rng.standard_normal((L, d)) for L in lengths]


def _pad(seqs):
    T = max(len(s) for s in seqs)
    out = np.full((len(seqs), T, seqs[0].shape[1]), np.nan)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


# --------------------------------------------------------------------- SequenceScaler


@pytest.mark.parametrize("with_mean", [True, False])
@pytest.mark.parametrize("with_std", [True, False])
def test_2d_equals_standard_scaler(rng, with_mean, with_std):
    X = 4.0 + 2.0 * rng.standard_normal((30, 4))
    X[:, 2] = 7.0  # a constant feature gets scale 1
    ours = SequenceScaler(with_mean=with_mean, with_std=with_std).fit(X)
    ref = StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-12)
    assert_allclose(ours.inverse_transform(ours.transform(X)), X, atol=1e-12)
    for attr in ("mean_", "var_", "scale_"):
        a, b = getattr(ours, attr), getattr(ref, attr)
        assert (a is None) == (b is None), attr
        if a is not None:
            assert_allclose(a, b, atol=1e-12)
    assert ours.n_samples_seen_ == 30
    if with_std:
        assert ours.scale_[2] == 1.0


def test_statistics_over_real_steps_only(rng):
    seqs = _ragged(rng)
    stacked = np.concatenate(seqs)
    ref = StandardScaler().fit(stacked)
    for X in (seqs, _pad(seqs)):
        sc = SequenceScaler().fit(X)
        assert_allclose(sc.mean_, ref.mean_, rtol=1e-12)
        assert_allclose(sc.var_, ref.var_, rtol=1e-12)
        assert sc.n_samples_seen_ == len(stacked)
        assert sc.n_features_in_ == 3


def test_ragged_structure_kept(rng):
    seqs = _ragged(rng)
    sc = SequenceScaler()
    out = sc.fit_transform(seqs)
    assert isinstance(out, list) and len(out) == len(seqs)
    ref = StandardScaler().fit(np.concatenate(seqs))
    for s, o in zip(seqs, out):
        assert o.shape == s.shape
        assert_allclose(o, ref.transform(s), atol=1e-12)
    back = sc.inverse_transform(out)
    assert isinstance(back, list)
    for s, b in zip(seqs, back):
        assert_allclose(b, s, atol=1e-12)


def test_3d_padding_stays_nan_and_equals_ragged(rng):
    seqs = _ragged(rng)
    X = _pad(seqs)
    sc = SequenceScaler().fit(X)
    out = sc.transform(X)
    assert out.shape == X.shape
    assert_array_equal(np.isnan(out), np.isnan(X))
    for i, o in enumerate(sc.transform(seqs)):
        assert_allclose(out[i, : len(o)], o, atol=1e-12)
    back = sc.inverse_transform(out)
    assert_array_equal(np.isnan(back), np.isnan(X))
    assert_allclose(back[~np.isnan(X)], X[~np.isnan(X)], atol=1e-12)


def test_3d_equal_lengths_and_new_length_at_transform(rng):
    X = 3.0 + rng.standard_normal((5, 6, 2))
    sc = SequenceScaler().fit(X)
    out = sc.transform(X)
    assert out.shape == X.shape and np.isfinite(out).all()
    assert_allclose(out.reshape(-1, 2).mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(out.reshape(-1, 2).std(axis=0), 1.0, atol=1e-12)
    longer = sc.transform(rng.standard_normal((2, 11, 2)))  # other lengths are fine
    assert longer.shape == (2, 11, 2)


def test_input_not_modified_and_float32_kept(rng):
    X = rng.standard_normal((4, 5, 3)).astype(np.float32)
    X2 = X[:, 0].copy()
    before, before2 = X.copy(), X2.copy()
    sc = SequenceScaler().fit(X)
    out = sc.transform(X)
    assert out.dtype == np.float32
    sc.inverse_transform(out)
    sc2 = SequenceScaler().fit(X2)
    sc2.inverse_transform(sc2.transform(X2))
    assert_array_equal(X, before)
    assert_array_equal(X2, before2)


def test_partial_fit_equals_fit(rng):
    seqs = _ragged(rng, n=12)
    full = SequenceScaler().fit(seqs)
    inc = SequenceScaler()
    for chunk in (seqs[:3], _pad(seqs[3:8]), seqs[8:]):
        inc.partial_fit(chunk)
    assert inc.n_samples_seen_ == full.n_samples_seen_
    assert_allclose(inc.mean_, full.mean_, rtol=1e-12)
    assert_allclose(inc.var_, full.var_, rtol=1e-10)
    inc.fit(seqs[:2])  # fit starts over
    assert inc.n_samples_seen_ == sum(len(s) for s in seqs[:2])


def test_feature_count_is_last_axis(rng):
    sc = SequenceScaler().fit(rng.standard_normal((4, 9, 3)))
    assert sc.n_features_in_ == 3
    with pytest.raises(ValueError, match="X has 2 features, but SequenceScaler is expecting 3"):
        sc.transform(rng.standard_normal((4, 9, 2)))
    with pytest.raises(ValueError, match="NaN"):
        bad = rng.standard_normal((2, 4, 3))
        bad[0, 1, 0] = np.nan  # NaN inside a sequence is not padding
        sc.transform(bad)


def test_pandas_feature_names_and_output(rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.standard_normal((10, 2)), columns=["a", "b"])
    sc = SequenceScaler().set_output(transform="pandas").fit(df)
    assert_array_equal(sc.feature_names_in_, ["a", "b"])
    assert_array_equal(sc.get_feature_names_out(), ["a", "b"])
    out = sc.transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a", "b"]
    # 3-D data cannot be a DataFrame: it comes back as an array.
    sc3 = SequenceScaler().set_output(transform="pandas")
    out3 = sc3.fit_transform(rng.standard_normal((3, 4, 2)))
    assert isinstance(out3, np.ndarray) and out3.shape == (3, 4, 2)


def _class_sequences(rng, n=60):
    """Two classes that differ by the sign of a slope, on a large offset and scale."""
    X, y = [], []
    for i in range(n):
        L = int(rng.integers(5, 12))
        sign = 1.0 if i % 2 else -1.0
        t = np.arange(L, dtype=float)
        base = np.column_stack([sign * t, rng.standard_normal(L)])
        X.append(np.array([1000.0, 50.0]) + np.array([30.0, 5.0]) * base)
        y.append("up" if sign > 0 else "down")
    return X, np.array(y)


@pytest.mark.parametrize("form", ["ragged", "3d"])
def test_pipeline_before_rnn_classifier(rng, form):
    X, y = _class_sequences(rng)
    if form == "3d":
        X = _pad(X)
    pipe = make_pipeline(
        SequenceScaler(),
        RNNClassifier(hidden_layer_sizes=(8,), max_iter=60, learning_rate_init=0.02,
                      random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert pipe[0].n_features_in_ == 2
    clone(pipe)  # still a valid scikit-learn composite


# --------------------------------------------------------------------- make_windows


def test_make_windows_hand_computed():
    series = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0], [4.0, 14.0],
                       [5.0, 15.0], [6.0, 16.0]])
    X, y = make_windows(series, window=3, horizon=2, stride=2)
    # starts 0 and 2; targets at steps 0+3-1+2 = 4 and 2+3-1+2 = 6
    assert_array_equal(X, [[[0, 10], [1, 11], [2, 12]], [[2, 12], [3, 13], [4, 14]]])
    assert_array_equal(y, [[4, 14], [6, 16]])
    X, y = make_windows(series, window=3, horizon=2, stride=2, targets=1)
    assert_array_equal(y, [14, 16])
    X, y = make_windows(series, window=2, horizon=[1, 3], targets=[0])
    # starts 0..2 (7 - 2 - 3 + 1 = 3 windows); y columns: step +1, step +3 of column 0
    assert X.shape == (3, 2, 2)
    assert_array_equal(y, [[2, 4], [3, 5], [4, 6]])
    X, y = make_windows(series, window=2, horizon=range(1, 3))
    # horizon-major: [col0 at +1, col1 at +1, col0 at +2, col1 at +2]
    assert_array_equal(y[0], [2, 12, 3, 13])
    assert y.shape == (4, 4)


def test_make_windows_univariate():
    X, y = make_windows(np.arange(6), window=3)
    assert X.shape == (3, 3, 1) and X.dtype == np.float64
    assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    assert_array_equal(y, [3, 4, 5])
    X, y = make_windows(np.arange(5.0), window=4)  # exactly long enough: one window
    assert X.shape == (1, 4, 1) and y.tolist() == [4.0]
    X[0, 0, 0] = 99.0  # windows are copies, not views of the series
    X2, _ = make_windows(np.arange(5.0), window=4)
    assert X2[0, 0, 0] == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(window=0), "window must be a positive integer"),
        (dict(window=3, horizon=0), "horizon must be a positive integer"),
        (dict(window=3, horizon=[1, 0]), "every horizon must be at least 1"),
        (dict(window=3, horizon=[]), "non-empty sequence"),
        (dict(window=3, stride=0), "stride must be a positive integer"),
        (dict(window=8, horizon=3), "has 10 time steps; window=8 and horizon=3 need at "
                                    "least 11"),
        (dict(window=3, targets=2), "out of range"),
    ],
)
def test_make_windows_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_windows(np.arange(20.0).reshape(10, 2), **kwargs)


def test_make_windows_rejects_nan():
    s = np.arange(10.0)
    s[-1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make_windows(s, window=3)


def test_lstm_forecasts_sine_wave():
    t = np.arange(400)
    series = np.sin(2 * np.pi * t / 25)
    X, y = make_windows(series, window=20, horizon=1)
    n_train = 300  # the held-out tail is the future of the training windows
    reg = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=60, learning_rate_init=0.01,
                        batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X[:n_train], y[:n_train])
    assert r2_score(y[n_train:], reg.predict(X[n_train:])) > 0.9


# ------------------------------------------------------------------ per-sequence scaling
@pytest.mark.parametrize("with_mean, with_std", [(True, True), (True, False), (False, True)])
def test_per_sequence_scaler_equals_standard_scaler_on_each_sequence(rng, with_mean,
                                                                     with_std):
    X = _ragged(rng)
    X[1] = np.full((3, 3), 4.0)  # constant: divided by 1, as in StandardScaler
    out = PerSequenceScaler(with_mean=with_mean, with_std=with_std).fit_transform(X)
    assert isinstance(out, list) and len(out) == len(X)
    for x, o in zip(X, out):
        expected = StandardScaler(with_mean=with_mean, with_std=with_std).fit_transform(x)
        assert_allclose(o, expected, atol=1e-12)
        assert o.shape == x.shape


def test_per_sequence_scaler_padding_and_dtype(rng):
    X = _ragged(rng)
    padded = _pad(X)
    out = PerSequenceScaler().fit(padded).transform(padded)
    for i, o in enumerate(PerSequenceScaler().fit_transform(X)):
        assert_allclose(out[i, : len(o)], o, atol=1e-12)
        assert np.isnan(out[i, len(o):]).all()  # padding stays padding
    out32 = PerSequenceScaler().fit_transform(padded.astype(np.float32))
    assert out32.dtype == np.float32
    assert_allclose(out32, out, atol=1e-5)
    # Scaling by shape: a shifted, stretched copy of a series scales to the same series.
    x = X[0]
    assert_allclose(PerSequenceScaler().fit_transform([x, 3 * x + 7])[1],
                    PerSequenceScaler().fit_transform([x])[0], atol=1e-12)


# ------------------------------------------------------------------ PAA
def test_piecewise_aggregate_by_factor_hand_computed():
    X = [np.arange(7.0).reshape(7, 1) * [1, 10], np.array([[1.0, 2.0]])]
    out = PiecewiseAggregate(factor=3).fit_transform(X)
    assert_allclose(out[0], [[1, 10], [4, 40], [6, 60]])  # last block: step 6 alone
    assert_allclose(out[1], [[1, 2]])
    padded = PiecewiseAggregate(factor=3).fit_transform(_pad(X))
    assert padded.shape == (2, 3, 2)
    assert_allclose(padded[0], out[0])
    assert_allclose(padded[1, 0], [1, 2]) and np.isnan(padded[1, 1:]).all()


def test_piecewise_aggregate_to_a_length(rng):
    X = _ragged(rng, n=6)
    X = [np.vstack([x, x, x]) for x in X]  # at least 3 steps each
    out = PiecewiseAggregate(n_timesteps=3).fit_transform(X)
    for x, o in zip(X, out):
        assert o.shape == (3, x.shape[1])
        # the thirds of a tripled series are the series' own means
        assert_allclose(o, np.repeat(x[: len(x) // 3].mean(axis=0, keepdims=True), 3, 0))
    assert_allclose(PiecewiseAggregate(n_timesteps=2).fit_transform(
        [np.arange(5.0)[:, None]])[0].ravel(), [0.5, 3.0])
    # The mean over real steps is kept whatever the segment sizes.
    x = rng.standard_normal((10, 2))
    o = PiecewiseAggregate(n_timesteps=5).fit_transform([x])[0]
    assert_allclose(o.mean(axis=0), x.mean(axis=0))
    padded = PiecewiseAggregate(n_timesteps=3).fit_transform(_pad(X))
    assert padded.shape == (6, 3, 3) and np.isfinite(padded).all()
    with pytest.raises(ValueError, match="n_timesteps=4, but sequence 0 of X has only 3"):
        PiecewiseAggregate(n_timesteps=4).fit([np.ones((3, 1)), np.ones((5, 1))])


def test_piecewise_aggregate_float32_and_pipeline(rng):
    X = [rng.standard_normal((L, 2)).astype(np.float32) for L in (40, 33, 50, 21)] * 5
    y = np.array([0, 1, 0, 1] * 5)
    assert PiecewiseAggregate(4).fit_transform(X)[0].dtype == np.float32
    pipe = make_pipeline(PerSequenceScaler(), PiecewiseAggregate(factor=4),
                         RNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    assert pipe.predict(X).shape == (20,)
    for bad in ({"factor": 0}, {"factor": 2.0}, {"factor": True}, {"n_timesteps": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            PiecewiseAggregate(**bad).fit(X)
