"""The trained estimators' ``dtype``: what the weights and the arithmetic use, and the
predictions' type."""

import numpy as np
import pytest

from skrnn import GRUStepRegressor, GRUTagger, LSTMRegressor, RNNClassifier, Seq2SeqRegressor


def _data(rng, dtype):
    X = rng.standard_normal((12, 6, 3)).astype(dtype)
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("dtype, x_dtype, expected", [
    (None, np.float64, np.float64),
    (None, np.float32, np.float32),
    ("float32", np.float64, np.float32),
    ("float64", np.float32, np.float64),
])
def test_dtype_sets_the_weights_whatever_the_input(rng, dtype, x_dtype, expected):
    X, y = _data(rng, x_dtype)
    for est, target in ((RNNClassifier(dtype=dtype), y),
                        (LSTMRegressor(dtype=dtype), y.astype(float)),
                        (GRUTagger(dtype=dtype), np.tile(y[:, None], (1, 6))),
                        (GRUStepRegressor(dtype=dtype), np.cumsum(X[:, :, 0], axis=1)),
                        (Seq2SeqRegressor(dtype=dtype), X[:, -2:, 0])):
        est.set_params(max_iter=2, random_state=0, hidden_layer_sizes=(4,))
        with pytest.warns(Warning):  # max_iter=2 does not converge
            est.fit(X, target)
        assert all(w.dtype == expected for w in est.get_weights().values())
        pred = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
        assert pred.dtype == expected  # float32 stays float32 end to end
        assert np.all(np.isfinite(pred))


def test_float32_and_float64_fits_agree_closely(rng):
    X, y = _data(rng, np.float64)
    fits = [RNNClassifier(dtype=d, max_iter=3, random_state=0, hidden_layer_sizes=(4,),
                          n_iter_no_change=100).fit(X, y) for d in ("float32", "float64")]
    p32, p64 = (f.predict_proba(X) for f in fits)
    np.testing.assert_allclose(p32, p64, atol=1e-4)
    assert not np.array_equal(p32, p64)  # really two different arithmetics


def test_dtype_is_validated(rng):
    X, y = _data(rng, np.float64)
    with pytest.raises(ValueError, match="dtype"):
        RNNClassifier(dtype="float16").fit(X, y)
