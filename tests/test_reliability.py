"""Reliability: every bad input gets a clear error, properties hold on random inputs,
numerics stay finite, faults leave a usable estimator, and the package stays offline.

The bad-input matrix runs over every estimator and every public method that takes data.
"""

import pathlib
import pickle
import re
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from fitting_support import quiet_fit, traced
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

import skrnn
from skrnn import GRUStepRegressor, GRUTagger, LSTMRegressor, RNNClassifier, Seq2SeqRegressor
from skrnn._activations import inplace_hard_sigmoid, inplace_sigmoid
from skrnn._bptt import RecurrentConfig, backward, forward, init_params
from skrnn._losses import log_loss, log_softmax, softmax
from skrnn._sequences import SequenceBatch, check_sequences, length_chunks
from skrnn.preprocessing import PerSequenceScaler, PiecewiseAggregate, SequenceScaler

# (factory, target kind): "label" per sequence, "value" per sequence, "horizon" (3 future
# values per sequence), "step_label", "step_value" per time step.
ESTIMATORS = {
    "RNNClassifier": (lambda: RNNClassifier(hidden_layer_sizes=(4,), max_iter=3,
                                            random_state=0), "label"),
    "LSTMRegressor": (lambda: LSTMRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                            random_state=0), "value"),
    "GRUTagger": (lambda: GRUTagger(hidden_layer_sizes=(4,), max_iter=3, random_state=0),
                  "step_label"),
    "GRUStepRegressor": (lambda: GRUStepRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                                  random_state=0), "step_value"),
    "Seq2SeqRegressor": (lambda: Seq2SeqRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                                  random_state=0), "horizon"),
}
try:  # the echo state network, when present
    from skrnn import EchoStateRegressor

    ESTIMATORS["EchoStateRegressor"] = (
        lambda: EchoStateRegressor(n_reservoir=20, random_state=0), "step_value")
except ImportError:  # pragma: no cover - only before the ESN exists
    pass

N_FEATURES = 2


def _targets(kind, X):
    """Valid targets of the given kind for a list of sequences."""
    if kind == "label":
        return np.array(["pos" if x[0, 0] > 0 else "neg" for x in X])
    if kind == "value":
        return np.array([x[0, 0] for x in X])
    if kind == "horizon":
        return np.array([[x[0, 0], x[-1, 0], x[:, -1].sum()] for x in X])
    if kind == "step_label":
        return [np.where(x[:, 0] > 0, "pos", "neg") for x in X]
    return [x[:, 0] * 0.5 for x in X]


def _sequences(rng, n=12, lo=2, hi=7):
    X = [rng.standard_normal((int(L), N_FEATURES)) for L in rng.integers(lo, hi, n)]
    X[0][0, 0], X[1][0, 0] = 1.0, -1.0  # both classes present
    for x in X[2:4]:
        x[:, 0] = [1.0, -1.0] * (len(x) // 2) + [1.0] * (len(x) % 2)
    return X


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = _sequences(rng)
    out = {}
    for name, (make, kind) in ESTIMATORS.items():
        out[name] = (quiet_fit(make(), X, _targets(kind, X)), kind, X)
    return out


# ------------------------------------------------------------------ the bad-input matrix
def _three_d(rng):
    return rng.standard_normal((3, 4, N_FEATURES))


def _nan_inside(rng):
    X = _three_d(rng)
    X[1, 2, 0] = np.nan
    return X


def _nan_padding_not_trailing(rng):
    X = _three_d(rng)
    X[1, 0, :] = np.nan  # a whole step of NaN, but real steps follow
    return X


def _inf_inside(rng):
    X = _three_d(rng)
    X[2, 3, 1] = np.inf
    return X


def _nested_frame(rng, uneven=False):
    pd = pytest.importorskip("pandas")
    lengths = [4, 2, 3]
    return pd.DataFrame({
        f"c{j}": [pd.Series(rng.standard_normal(L + (uneven and j == 1 and i == 0)))
                  for i, L in enumerate(lengths)]
        for j in range(N_FEATURES)})


BAD_X = [
    # (id, builder, error, message pattern)
    ("nan-inside", _nan_inside, ValueError, "NaN in sequence 1 at step 2"),
    ("nan-not-trailing", _nan_padding_not_trailing, ValueError, "NaN in sequence 1 at step 0"),
    ("inf-inside", _inf_inside, ValueError, "infinity in sequence 2 at step 3"),
    ("empty-3d", lambda rng: np.zeros((0, 4, N_FEATURES)), ValueError, "minimum of 1"),
    ("empty-list", lambda rng: [], ValueError, "Expected 2D array|0 sample"),
    ("zero-length", lambda rng: [np.ones((2, N_FEATURES)), np.zeros((0, N_FEATURES)),
                                 np.ones((3, N_FEATURES))], ValueError,
     "Sequence 1 of X has length 0"),
    ("all-nan-sequence", lambda rng: np.concatenate(
        [_three_d(rng)[:2], np.full((1, 4, N_FEATURES), np.nan)]), ValueError,
     "Sequence 2 of X has length 0"),
    ("1d", lambda rng: np.ones(5), ValueError, "Expected 2D array"),
    ("4d", lambda rng: np.ones((2, 3, 4, N_FEATURES)), ValueError, "X has 4 dimensions"),
    ("ragged-1d", lambda rng: [np.ones(3), np.ones(4), np.ones(5)], ValueError,
     "add a feature axis"),
    ("mixed-features", lambda rng: [np.ones((3, N_FEATURES)), np.ones((3, 3)),
                                    np.ones((2, N_FEATURES))], ValueError,
     "Sequence 1 of X has 3 features but sequence 0 has 2"),
    ("strings", lambda rng: np.full((3, 4, N_FEATURES), "a", dtype=object), TypeError,
     "must contain numbers"),
    ("complex", lambda rng: _three_d(rng) * 1j, ValueError, "Complex data not supported"),
    ("sparse", lambda rng: sp.csr_matrix(np.ones((3, N_FEATURES))), TypeError,
     "dense data is required"),
    ("not-array", lambda rng: object(), (TypeError, ValueError), "array"),
    ("masked-inside", lambda rng: np.ma.masked_where(
        np.arange(3 * 4 * N_FEATURES).reshape(3, 4, N_FEATURES) == 12, _three_d(rng)),
     ValueError, "NaN in sequence 1 at step 2"),
    ("raw-tokens", lambda rng: [["the", "dog"], ["a", "cat", "sat"], ["hi"]], TypeError,
     "Sequence 0 of X holds text .* Encode tokens as numbers"),
    ("nested-frame-uneven-channels", lambda rng: _nested_frame(rng, uneven=True), ValueError,
     "Row 0 of the nested DataFrame X has channels of different lengths"),
]


def _data_methods(est):
    return [m for m in ("predict", "predict_proba", "predict_log_proba", "transform")
            if hasattr(est, m)]


CASES = [(name, case) for name in ESTIMATORS for case in BAD_X]


@pytest.mark.parametrize("name, case", CASES, ids=[f"{n}-{c[0]}" for n, c in CASES])
def test_bad_x_gets_a_clear_error_in_every_method(fitted, name, case):
    _, builder, error, pattern = case
    est, kind, X_ok = fitted[name]
    bad = builder(np.random.default_rng(0))
    n_bad = 3
    y = _targets(kind, _sequences(np.random.default_rng(1), n=n_bad))
    with pytest.raises(error, match=pattern):
        ESTIMATORS[name][0]().fit(bad, y)
    if hasattr(est, "partial_fit"):
        with pytest.raises(error, match=pattern):
            kw = {"classes": est.classes_} if hasattr(est, "classes_") else {}
            ESTIMATORS[name][0]().partial_fit(bad, y, **kw)
    for method in _data_methods(est):
        with pytest.raises(error, match=pattern):
            getattr(est, method)(bad)
    with pytest.raises(error, match=pattern):
        est.score(bad, y)


TRANSFORMERS = {"SequenceScaler": SequenceScaler, "PerSequenceScaler": PerSequenceScaler,
                "PiecewiseAggregate": PiecewiseAggregate}
TRANSFORMER_CASES = [(name, case) for name in TRANSFORMERS for case in BAD_X]


@pytest.mark.parametrize("name, case", TRANSFORMER_CASES,
                         ids=[f"{n}-{c[0]}" for n, c in TRANSFORMER_CASES])
def test_bad_x_gets_a_clear_error_in_every_transformer_method(name, case):
    _, builder, error, pattern = case
    bad = builder(np.random.default_rng(0))
    make = TRANSFORMERS[name]
    fitted = make().fit(_sequences(np.random.default_rng(1)))
    for call in (lambda: make().fit(bad), lambda: make().fit_transform(bad),
                 lambda: fitted.transform(bad)):
        with pytest.raises(error, match=pattern):
            call()


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_unseen_feature_count_and_not_fitted(fitted, name):
    est, kind, X = fitted[name]
    wrong = np.ones((2, 3, N_FEATURES + 3))
    for method in _data_methods(est):
        with pytest.raises(ValueError, match=f"X has 5 features, but {name} is expecting 2"):
            getattr(est, method)(wrong)
        with pytest.raises(NotFittedError):
            getattr(ESTIMATORS[name][0](), method)(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_bad_targets_get_a_clear_error(fitted, name):
    make, kind = ESTIMATORS[name]
    X = _sequences(np.random.default_rng(2))
    y = _targets(kind, X)
    with pytest.raises(ValueError, match="12 sequences but y has 11|sequences"):
        make().fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        make().fit(X, None)
    if kind in ("step_label", "step_value"):
        y_bad = list(y)
        y_bad[5] = y_bad[5][:-1]
        with pytest.raises(ValueError, match="Target sequence 5 has"):
            make().fit(X, y_bad)
    if kind in ("value", "horizon", "step_value"):
        y_nan = [np.array(v, dtype=float, copy=True) for v in y] if kind == "step_value" \
            else y.astype(float).copy()
        y_nan[3] = np.full(len(y_nan[3]), np.nan) if kind == "step_value" else np.nan
        with pytest.raises(ValueError, match="NaN"):
            make().fit(X, y_nan)
    if kind in ("label", "step_label"):
        for missing in (None, np.nan):  # scikit-learn's wording, not a sorting TypeError
            y_missing = [np.array(v, dtype=object) for v in y] if kind == "step_label" \
                else np.array(y, dtype=object)
            y_missing[4] = missing if kind == "label" else np.full(len(y[4]), missing)
            with pytest.raises(ValueError, match="Input y contains NaN or None"):
                make().fit(X, y_missing)
        one = ["a"] * len(X) if kind == "label" else [np.full(len(x), "a") for x in X]
        with pytest.raises(ValueError, match="only one class"):
            make().fit(X, one)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_parameters_out_of_range_are_rejected(name):
    make, kind = ESTIMATORS[name]
    X = _sequences(np.random.default_rng(3))
    y = _targets(kind, X)
    est = make()
    bad_values = {"hidden_layer_sizes": 0, "learning_rate_init": -1.0, "max_iter": 0,
                  "alpha": -1.0, "n_reservoir": 0, "spectral_radius": -1.0,
                  "leak_rate": 2.0, "dropout": 1.5}
    tried = 0
    for param, value in bad_values.items():
        if param in est.get_params():
            tried += 1
            with pytest.raises(ValueError, match=param):
                make().set_params(**{param: value}).fit(X, y)
    assert tried >= 3


BAD_PARAMS = [
    # (id, parameters, error, message pattern): no silent coercion of integers
    ("layers-none", {"hidden_layer_sizes": (4, None)}, TypeError,
     r"hidden_layer_sizes .* entry 1 is None"),
    ("layers-nested", {"hidden_layer_sizes": [[4]]}, TypeError,
     r"hidden_layer_sizes .* entry 0 is \[4\]"),
    ("layers-float", {"hidden_layer_sizes": (4.7,)}, TypeError,
     r"hidden_layer_sizes .* entry 0 is 4.7 \(float\)"),
    ("layers-str", {"hidden_layer_sizes": ("4",)}, TypeError,
     r"hidden_layer_sizes .* entry 0 is '4' \(str\)"),
    ("layers-empty", {"hidden_layer_sizes": ()}, ValueError, "hidden_layer_sizes .* empty"),
    ("layers-bool", {"hidden_layer_sizes": True}, ValueError, "hidden_layer_sizes"),
    ("batch-size-bool", {"batch_size": True}, ValueError, r"batch_size.*not a bool"),
    ("periods-nested", {"cell": "clockwork", "clock_periods": [[1, 2]]}, TypeError,
     r"clock_periods .* entry 0 is \[1, 2\]"),
    ("periods-float", {"cell": "clockwork", "clock_periods": (1.5, 3)}, TypeError,
     r"clock_periods .* entry 0 is 1.5 \(float\)"),
    ("periods-zero", {"cell": "clockwork", "clock_periods": (0, 2)}, ValueError,
     r"clock_periods .* entry 0 is 0"),
    ("periods-other-cell", {"cell": "gru", "clock_periods": (1, 2)}, ValueError,
     "clock_periods applies only to cell='clockwork'; got cell='gru'"),
]
# Every case an estimator has all the parameters of (Seq2SeqRegressor has no clock_periods).
PARAM_CASES = [(name, case) for name, (make, _) in ESTIMATORS.items()
               if name != "EchoStateRegressor" for case in BAD_PARAMS
               if set(case[1]) <= set(make().get_params())]


@pytest.mark.parametrize("name, case", PARAM_CASES,
                         ids=[f"{n}-{c[0]}" for n, c in PARAM_CASES])
def test_bad_integer_parameters_are_errors_not_coercions(name, case):
    _, params, error, pattern = case
    make, kind = ESTIMATORS[name]
    X = _sequences(np.random.default_rng(3))
    params = {"hidden_layer_sizes": (4,), **params}
    with pytest.raises(error, match=pattern):
        make().set_params(**params).fit(X, _targets(kind, X))


@pytest.mark.parametrize("name", [n for n in ESTIMATORS if n != "EchoStateRegressor"])
def test_float32_model_rejects_values_beyond_float32_in_every_form(name):
    make, kind = ESTIMATORS[name]
    X = [x.astype(np.float32) for x in _sequences(np.random.default_rng(4))]
    est = quiet_fit(make(), X, _targets(kind, X))
    assert est.weights_["output.bias"].dtype == np.float32
    big = [x.astype(np.float64) for x in X[:3]]
    big[1][0, 0] = 1e39
    padded = np.full((3, max(len(x) for x in big), N_FEATURES), np.nan)
    for i, x in enumerate(big):
        padded[i, : len(x)] = x
    for form in (big, padded):
        with pytest.raises(ValueError, match="too large for float32"):
            est.predict(form)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_channel_first_shape_warns_in_fit(name):
    make, kind = ESTIMATORS[name]
    X = np.random.default_rng(5).standard_normal((12, 1, 30))  # (n, channels, T)
    y = _targets(kind, list(X.transpose(0, 2, 1)))
    if kind in ("step_label", "step_value"):  # one step per sequence, as X reads
        y = np.array([t[:1] for t in y])
    with pytest.warns(UserWarning, match=r"channel-first .* X.transpose\(0, 2, 1\)"):
        quiet_fit(make(), X, y)


def test_early_stopping_split_error_names_validation_fraction():
    rng = np.random.default_rng(6)
    X = [rng.standard_normal((3, N_FEATURES)) for _ in range(12)]
    y = ["a", "b", "c"] * 4  # a stratified 10% split cannot hold one of each of 3 classes
    est = RNNClassifier(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2,
                        validation_fraction=0.1, random_state=0)
    with pytest.raises(ValueError, match=r"validation_fraction=0.1.*(classes|early_stopping)"):
        est.fit(X, y)


# ------------------------------------------------------------------ properties
@st.composite
def ragged_batches(draw):
    lengths = draw(st.lists(st.integers(1, 7), min_size=1, max_size=7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((L, N_FEATURES)) for L in lengths], seed


def _same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
        return
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_array_equal(a, b)


SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("name", list(ESTIMATORS))
@SETTINGS
@given(data=ragged_batches())
def test_padded_equals_ragged(fitted, name, data):
    est, kind, _ = fitted[name]
    X, _ = data
    padded = np.full((len(X), max(len(x) for x in X), N_FEATURES), np.nan)
    for i, x in enumerate(X):
        padded[i, : len(x)] = x
    ragged_pred, padded_pred = est.predict(X), est.predict(padded)
    if kind in ("step_label", "step_value"):
        for i, p in enumerate(ragged_pred):
            _same(list(padded_pred[i, : len(p)]), list(p))
    else:
        _same(padded_pred, ragged_pred)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@SETTINGS
@given(data=ragged_batches(), order_seed=st.integers(0, 1000))
def test_predictions_do_not_depend_on_batch_order_or_size(fitted, name, data, order_seed):
    est, _, _ = fitted[name]
    X, _ = data
    full = est.predict(X)
    order = np.random.default_rng(order_seed).permutation(len(X))
    shuffled = est.predict([X[i] for i in order])
    for j, i in enumerate(order):
        _same(shuffled[j], full[i])
        _same(est.predict([X[i]])[0], full[i])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_pickle_round_trip_and_identical_refits(fitted, name):
    est, kind, X = fitted[name]
    restored = pickle.loads(pickle.dumps(est))
    _same(restored.predict(X), est.predict(X))
    again = quiet_fit(ESTIMATORS[name][0](), X, _targets(kind, X))
    _same(again.predict(X), est.predict(X))


_elements = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                      st.text(max_size=2), st.none(), st.booleans())


@st.composite
def messy_inputs(draw):
    kind = draw(st.sampled_from(["nested", "array", "ragged", "scalar"]))
    if kind == "scalar":
        return draw(_elements)
    if kind == "ragged":
        return [np.asarray(draw(st.lists(st.lists(_elements, min_size=0, max_size=3),
                                         min_size=0, max_size=4)), dtype=object)
                for _ in range(draw(st.integers(0, 3)))]
    shape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    size = int(np.prod(shape))
    flat = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=size,
                         max_size=size))
    arr = np.asarray(flat, dtype=float).reshape(shape)
    return arr.tolist() if kind == "nested" else arr


@settings(max_examples=200, deadline=None)
@given(X=messy_inputs())
def test_input_contract_raises_only_documented_errors(X):
    try:
        batch = check_sequences(X)
    except (ValueError, TypeError) as exc:
        assert str(exc)  # a message, never an empty error
        return
    assert isinstance(batch, SequenceBatch)
    assert np.all(np.isfinite(batch.X)) and np.all(batch.lengths >= 1)
    assert batch.X.shape[0] == batch.lengths.max()


# ------------------------------------------------------------------ numerical stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_softmax_and_log_softmax_are_stable(dtype):
    z = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=dtype)
    s = inplace_sigmoid(z.copy())
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    assert s[0] == 0 and s[-1] == 1 and s[3] == 0.5
    hs = inplace_hard_sigmoid(z.copy())
    np.testing.assert_allclose(hs, [0, 0, 0.3, 0.5, 0.7, 1, 1], rtol=1e-6)
    Z = np.array([[1e4, -1e4, 0.0], [-3e38 if dtype == np.float32 else -1e300, 0, 1]],
                 dtype=dtype)
    assert np.all(np.isfinite(log_softmax(Z))) and np.all(np.isfinite(softmax(Z)))
    np.testing.assert_allclose(softmax(Z).sum(axis=1), 1, rtol=1e-6)
    loss, dZ = log_loss(Z, np.array([1, 0]), np.ones(2, dtype=dtype))
    assert np.isfinite(loss) and np.all(np.isfinite(dZ))


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("scale", [1e6, 1e200])
def test_saturating_inputs_give_finite_outputs_or_a_clear_error(fitted, name, scale):
    est, _, X = fitted[name]
    big = [x * scale for x in X]
    try:
        pred = est.predict(big)
    except ValueError as exc:
        assert re.search("not finite|too large|overflow", str(exc))
        return
    values = np.concatenate([np.ravel(p) for p in pred]) if isinstance(pred, list) else pred
    if values.dtype.kind == "f":
        assert np.all(np.isfinite(values))


def test_overflowing_relu_network_raises_instead_of_returning_nan():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 6, 2))
    est = quiet_fit(LSTMRegressor(cell="rnn", activation="relu", hidden_layer_sizes=(16,),
                                  max_iter=2, random_state=0), X, X[:, 0, 0])
    est.weights_["weight_hh_l0"][:] = np.abs(est.weights_["weight_hh_l0"]) * 50
    est.weights_["weight_ih_l0"][:] = np.abs(est.weights_["weight_ih_l0"])
    with pytest.raises(ValueError, match="not finite"):
        est.predict(np.abs(X) * 1e300)


def test_long_sequences_train_and_memory_grows_linearly():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((10_000, 1)), rng.standard_normal((9_000, 1))]
    est = quiet_fit(RNNClassifier(cell="gru", hidden_layer_sizes=(4,), max_iter=1,
                                  random_state=0), X, [0, 1])
    assert est.n_iter_ == 1 and np.all(np.isfinite(est.predict_proba(X)))

    cfg = RecurrentConfig("lstm", 3, (16,))
    params = init_params(cfg, rng)

    def peak(T):
        Xb = rng.standard_normal((T, 8, 3))
        tracemalloc.start()
        res = forward(cfg, params, Xb, np.full(8, T))
        backward(cfg, params, res.cache, d_final=np.ones((8, 16)))
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    ratio = peak(4000) / peak(2000)
    assert 1.8 < ratio < 2.2


@pytest.mark.parametrize("make", [
    lambda: RNNClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0),
    lambda: LSTMRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0),
], ids=["RNNClassifier", "LSTMRegressor"])
def test_prediction_of_many_short_and_one_long_sequence_is_bounded(make):
    # 2000 length-1 sequences and one of 20,000 steps: chunks of 1024 sequences padded to
    # the longest used to take minutes and gigabytes here.
    rng = np.random.default_rng(0)
    long = rng.standard_normal((20_000, 1))
    X = [rng.standard_normal((1, 1)) for _ in range(2000)] + [long]
    y = np.arange(len(X)) % 2
    t0 = time.process_time()
    est = quiet_fit(make(), X, y)
    epoch = time.process_time() - t0

    t0 = time.process_time()
    pred = est.predict(X)
    seconds = time.process_time() - t0

    peak = traced(lambda: est.predict(X))[1]
    peak_long_alone = traced(lambda: est.predict([long]))[1]
    model = sum(w.nbytes for w in est.weights_.values())
    assert seconds <= epoch
    # The long sequence's own forward pass dominates; the short ones add about their output.
    assert peak <= 2 * (peak_long_alone + pred.nbytes + model)
    _same(pred[-1:], est.predict([long]))
    _same(pred[:5], est.predict(X[:5]))


def test_tagger_prediction_of_many_short_and_one_long_sequence_is_bounded():
    # Per-step outputs: no (n_timesteps, n_sequences) array may be built, or the 2000 short
    # sequences cost as much as 2000 long ones (692 MiB here before).
    rng = np.random.default_rng(0)
    long = rng.standard_normal((20_000, 1))
    X = [rng.standard_normal((1, 1)) for _ in range(2000)] + [long]
    y = [(x[:, 0] > 0).astype(int) for x in X]
    t0 = time.process_time()
    est = quiet_fit(GRUTagger(hidden_layer_sizes=(8,), max_iter=1, random_state=0), X, y)
    epoch = time.process_time() - t0

    model = sum(w.nbytes for w in est.weights_.values())
    for method in ("predict", "predict_proba"):
        t0 = time.process_time()
        out, peak = traced(lambda m=method: getattr(est, m)(X))
        seconds = time.process_time() - t0
        _, peak_long_alone = traced(lambda m=method: getattr(est, m)([long]))
        output = sum(o.nbytes for o in out)
        assert seconds <= epoch
        assert peak <= 2 * (peak_long_alone + output + model), (method, peak)
        assert [len(o) for o in out] == [len(x) for x in X]
        _same(out[-1], getattr(est, method)([long])[0])
    # score reads a list y sequence by sequence too.
    t0 = time.process_time()
    acc, peak = traced(lambda: est.score(X, y))
    seconds = time.process_time() - t0
    _, peak_long_alone = traced(lambda: est.score([long], [y[-1]]))
    labels = sum(v.nbytes for v in y)
    assert seconds <= epoch
    assert peak <= 2 * (peak_long_alone + labels + model), peak
    flat = np.concatenate(y)
    assert acc == np.mean(np.concatenate(est.predict(X)) == flat)


def test_length_chunks_bound_the_padded_size():
    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.integers(1, 50, 3000), [20_000, 7]])
    chunks = length_chunks(lengths, max_padded_steps=4096, max_sequences=256)
    flat = np.concatenate(chunks)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert np.all(np.diff(lengths[flat]) >= 0)
    for c in chunks:
        assert len(c) <= 256
        assert len(c) * lengths[c].max() <= 4096 or len(c) == 1
    assert [len(c) for c in chunks][-1] == 1  # the long one is alone


# ------------------------------------------------------------------ faults
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_concurrent_predict_from_threads_is_identical(fitted, name):
    est, _, X = fitted[name]
    expected = est.predict(X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: est.predict(X), range(8)))
    for r in results:
        _same(r, expected)


def test_non_finite_loss_keeps_previous_weights_usable():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5, 2))
    est = LSTMRegressor(cell="rnn", activation="relu", solver="sgd", momentum=0.0,
                        learning_rate_init=1e7, max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="non-finite"):
        est.fit(X, X[:, 0, 0] * 1e8)
    assert np.all(np.isfinite(est.predict(X[:, :1])))


def test_seed_is_printed_and_replayable(pytestconfig):
    from conftest import SEED, pytest_report_header

    assert f"SKRNN_TEST_SEED={SEED}" in pytest_report_header(pytestconfig)


# ------------------------------------------------------------------ security
def test_package_has_no_eval_exec_network_or_temp_files():
    forbidden = re.compile(r"\b(eval|exec)\(|import (socket|urllib|requests|http)|"
                           r"from (socket|urllib|requests|http)|tempfile|mkstemp")
    root = pathlib.Path(skrnn.__file__).parent
    offenders = [f"{p.name}:{i + 1}" for p in root.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines())
                 if forbidden.search(line)]
    assert offenders == []
