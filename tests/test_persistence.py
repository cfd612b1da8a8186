"""Persistence: pickle, joblib (in memory, no temp files), skops.io, and weight export.

Every round trip must give identical predictions, and a reloaded network must continue
training (``partial_fit``) exactly as the original would.
"""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.pipeline import make_pipeline

from skrnn import GRUStepRegressor, GRUTagger, LSTMRegressor, RNNClassifier, Seq2SeqRegressor
from skrnn.preprocessing import SequenceScaler

#: The types ``skops.io`` does not trust by default in a fitted skrnn estimator; this is the
#: list documented in docs/persistence.rst. The optimizer is AdamOptimizer for
#: ``solver="adam"``, SGDOptimizer for ``"sgd"`` and absent for ``"lbfgs"``.
SKOPS_TRUSTED = {
    "RNNClassifier": ["skrnn._bptt.RecurrentConfig", "skrnn._classifier.RNNClassifier",
                      "skrnn._optimizers.AdamOptimizer"],
    "LSTMRegressor": ["skrnn._bptt.RecurrentConfig", "skrnn._optimizers.AdamOptimizer",
                      "skrnn._regressor.LSTMRegressor"],
    "GRUTagger": ["skrnn._bptt.RecurrentConfig", "skrnn._optimizers.AdamOptimizer",
                  "skrnn._tagger.GRUTagger"],
    "GRUStepRegressor": ["skrnn._bptt.RecurrentConfig", "skrnn._optimizers.AdamOptimizer",
                         "skrnn._step_regressor.GRUStepRegressor"],
    "Seq2SeqRegressor": ["skrnn._bptt.RecurrentConfig", "skrnn._optimizers.AdamOptimizer",
                         "skrnn._seq2seq.Seq2SeqRegressor"],
    # The sparse reservoir is a SciPy CSR matrix, which skops does not trust by default.
    # The readout's statistics (kept for partial_fit) are a small named class.
    "EchoStateRegressor": ["scipy.sparse._csr.csr_matrix", "skrnn._esn.EchoStateRegressor",
                           "skrnn._readout.RidgeStatistics"],
}

SMALL = dict(hidden_layer_sizes=(5,), max_iter=4, learning_rate_init=0.01)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((24, 6, 3))
    return X, {
        "RNNClassifier": np.where(X[:, :, 0].sum(axis=1) > 0, "pos", "neg"),
        "LSTMRegressor": X[:, :, 1].sum(axis=1),
        "GRUTagger": (np.cumsum(X[:, :, 2], axis=1) > 0).astype(int),
        "GRUStepRegressor": np.cumsum(X[:, :, 1], axis=1) / 3.0,
        "Seq2SeqRegressor": np.cumsum(X[:, -3:, 1], axis=1),
        "EchoStateRegressor": np.cumsum(X[:, :, 0], axis=1) / 3.0,
    }


def _make(name, random_state=0):
    if name == "EchoStateRegressor":
        from skrnn import _esn as esn
        est = esn.EchoStateRegressor(random_state=random_state)
        if "n_reservoir" in est.get_params():
            est.set_params(n_reservoir=30)
        return est
    cls = {"RNNClassifier": RNNClassifier, "LSTMRegressor": LSTMRegressor,
           "GRUTagger": GRUTagger, "GRUStepRegressor": GRUStepRegressor,
           "Seq2SeqRegressor": Seq2SeqRegressor}[name]
    return cls(random_state=random_state, **SMALL)


def _fitted(name, random_state=0):
    X, ys = _data()
    est = _make(name, random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: deliberately short fits
        est.fit(X, ys[name])
    return est, X, ys[name]


def _outputs(est, X):
    """Everything the estimator predicts, for exact comparison."""
    out = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        out.append(est.predict_proba(X))
    return out


def _assert_same_outputs(a, b, X):
    for pa, pb in zip(_outputs(a, X), _outputs(b, X)):
        assert_array_equal(pa, pb)


def _assert_same_continuation(original, loaded, X, y):
    """One more epoch from the loaded copy equals one more epoch from the original."""
    if not hasattr(original, "partial_fit"):
        return
    kwargs = {"classes": original.classes_} if hasattr(original, "classes_") else {}
    original.partial_fit(X, y, **kwargs)
    loaded.partial_fit(X, y, **kwargs)
    _assert_same_outputs(original, loaded, X)


NAMES = ["RNNClassifier", "LSTMRegressor", "GRUTagger", "GRUStepRegressor",
         "Seq2SeqRegressor", "EchoStateRegressor"]


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(name):
    est, X, y = _fitted(name)
    loaded = pickle.loads(pickle.dumps(est))
    assert type(loaded) is type(est)
    _assert_same_outputs(est, loaded, X)
    _assert_same_continuation(est, loaded, X, y)


@pytest.mark.parametrize("name", NAMES)
def test_joblib_round_trip_in_memory(name):
    est, X, y = _fitted(name)
    buffer = io.BytesIO()  # no file on disk: joblib writes to and reads from any file object
    joblib.dump(est, buffer, compress=3)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    _assert_same_outputs(est, loaded, X)
    _assert_same_continuation(est, loaded, X, y)


@pytest.mark.parametrize("name", NAMES)
def test_skops_round_trip(name):
    sio = pytest.importorskip("skops.io")
    est, X, y = _fitted(name)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert sorted(untrusted) == SKOPS_TRUSTED[name]  # the documented list
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)  # nothing untrusted is loaded without being named
    loaded = sio.loads(data, trusted=untrusted)
    _assert_same_outputs(est, loaded, X)
    _assert_same_continuation(est, loaded, X, y)


@pytest.mark.parametrize("solver, optimizer", [("sgd", ["skrnn._optimizers.SGDOptimizer"]),
                                               ("lbfgs", [])])
def test_skops_trusted_types_per_solver(solver, optimizer):
    sio = pytest.importorskip("skops.io")
    X, ys = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LSTMRegressor(solver=solver, random_state=0, **SMALL).fit(X, ys["LSTMRegressor"])
    data = sio.dumps(est)
    expected = sorted(["skrnn._bptt.RecurrentConfig", "skrnn._regressor.LSTMRegressor"]
                      + optimizer)
    assert sorted(sio.get_untrusted_types(data=data)) == expected
    assert_array_equal(sio.loads(data, trusted=expected).predict(X), est.predict(X))


def test_skops_pipeline_with_scaler():
    sio = pytest.importorskip("skops.io")
    X, ys = _data()
    pipe = make_pipeline(SequenceScaler(), RNNClassifier(random_state=0, **SMALL))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(list(X), ys["RNNClassifier"])
    data = sio.dumps(pipe)
    expected = sorted(SKOPS_TRUSTED["RNNClassifier"] + ["skrnn.preprocessing.SequenceScaler"])
    assert sorted(sio.get_untrusted_types(data=data)) == expected
    loaded = sio.loads(data, trusted=expected)
    assert_array_equal(loaded.predict_proba(list(X)), pipe.predict_proba(list(X)))
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    buffer.seek(0)
    assert_array_equal(joblib.load(buffer).predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "EchoStateRegressor"])
def test_get_set_weights_round_trip(name):
    # The trained (BPTT) estimators; the ESN's weights are its fitted attributes.
    est, X, _ = _fitted(name, random_state=0)
    other, _, _ = _fitted(name, random_state=1)  # same architecture, different weights
    before = _outputs(other, X)
    weights = est.get_weights()
    assert not any(np.array_equal(a, b) for a, b in zip(before, _outputs(est, X)))
    assert other.set_weights(weights) is other
    _assert_same_outputs(est, other, X)
    # PyTorch names, plain NumPy arrays, and copies (not views of the fitted weights)
    assert {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "output.weight", "output.bias"} <= set(weights)
    assert all(type(v) is np.ndarray for v in weights.values())
    first = next(iter(weights))
    weights[first][...] = 0.0
    _assert_same_outputs(est, other, X)
    # weights survive a trip through a plain .npz archive (portable, no pickle)
    buffer = io.BytesIO()
    np.savez(buffer, **est.get_weights())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        third, _, _ = _fitted(name, random_state=2)
        third.set_weights({k: npz[k] for k in npz.files})
    _assert_same_outputs(est, third, X)


def test_set_weights_rejects_mismatch():
    est, _, _ = _fitted("LSTMRegressor")
    weights = est.get_weights()
    with pytest.raises(ValueError, match="do not match"):
        est.set_weights({k: v for k, v in weights.items() if k != "weight_ih_l0"})
    weights["weight_ih_l0"] = weights["weight_ih_l0"][:, :1]
    with pytest.raises(ValueError, match="shape"):
        est.set_weights(weights)
