"""GRUStepRegressor: per-step values and vectors, padding invariance, the future, errors,
weights, model selection and the gradient through the per-step regression head."""

import re
import warnings

import numpy as np
import pytest
from finite_differences import assert_gradients_match_finite_differences
from fitting_support import padded, quiet_fit, traced
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline

from skrnn import GRUStepRegressor
from skrnn._losses import trivial_loss
from skrnn.metrics import FLAT_SCORERS, flat_r2_score
from skrnn.preprocessing import SequenceScaler

SMALL = dict(hidden_layer_sizes=(8,), learning_rate_init=0.02, batch_size=32,
             random_state=0)


def _series(rng, n, lo=6, hi=14, n_features=1):
    return [rng.standard_normal((int(rng.integers(lo, hi + 1)), n_features))
            for _ in range(n)]


def _lagged_sum(X):
    """y_t = x_(t-1) + x_(t-2) (zero before the start): memory of the past."""
    out = []
    for x in X:
        v = np.r_[0.0, 0.0, x[:, 0]]
        out.append(v[1:-1] + v[:-2])
    return out


def _next_value(X):
    """y_t = x_(t+1) (zero after the end): needs the future."""
    return [np.r_[x[1:, 0], 0.0] for x in X]


# --------------------------------------------------------------------- shapes


@pytest.mark.parametrize("n_outputs", [None, 1, 3], ids=["1d", "1-column", "3-outputs"])
def test_prediction_has_the_structure_of_x_and_y(rng, n_outputs):
    X = _series(rng, 12, lo=3, hi=7, n_features=2)
    tail = () if n_outputs is None else (n_outputs,)
    y = [rng.standard_normal((len(x),) + tail) for x in X]
    kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    # Ragged: a list of (n_timesteps_i[, n_outputs]).
    est = quiet_fit(GRUStepRegressor(**kw), X, y)
    pred = est.predict(X)
    assert isinstance(pred, list)
    assert [p.shape for p in pred] == [(len(x),) + tail for x in X]
    assert est.n_outputs_ == (n_outputs or 1)
    # Padded 3-D: (n_sequences, n_timesteps[, n_outputs]) with NaN at padded steps.
    X3, y3 = padded(X), padded(y)
    pred3 = quiet_fit(GRUStepRegressor(**kw), X3, y3).predict(X3)
    assert pred3.shape == (12, 7) + tail
    for i, x in enumerate(X):
        np.testing.assert_allclose(pred3[i, : len(x)], pred[i], rtol=0, atol=1e-12)
        assert np.all(np.isnan(pred3[i, len(x):]))
    # 2-D: length-1 sequences, (n_samples[, n_outputs]).
    X2 = rng.standard_normal((20, 2))
    y2 = rng.standard_normal((20,) + tail)
    pred2 = quiet_fit(GRUStepRegressor(**kw), X2, y2).predict(X2)
    assert pred2.shape == (20,) + tail


def test_equal_lengths_3d_gives_a_plain_array(rng):
    X = rng.standard_normal((10, 5, 1))
    y = rng.standard_normal((10, 5, 2))
    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    pred = est.predict(X)
    assert pred.shape == (10, 5, 2) and np.all(np.isfinite(pred))
    assert est.predict(X[:, :3]).shape == (10, 3, 2)  # another length at prediction


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "clockwork"])
def test_every_cell(rng, cell):
    X = _series(rng, 20)
    est = quiet_fit(GRUStepRegressor(cell=cell, hidden_layer_sizes=(4,), max_iter=3,
                                     random_state=0), X, _lagged_sum(X))
    assert [p.shape for p in est.predict(X)] == [(len(x),) for x in X]
    assert np.isfinite(est.score(X, _lagged_sum(X)))


# --------------------------------------------------------------------- learning


def test_learns_a_lagged_sum_to_high_held_out_r2(rng):
    X, X_test = _series(rng, 300), _series(rng, 100)
    est = quiet_fit(GRUStepRegressor(max_iter=80, **SMALL), X, _lagged_sum(X))
    assert est.score(X_test, _lagged_sum(X_test)) > 0.97


def test_the_future_needs_bidirectional(rng):
    X, X_test = _series(rng, 300), _series(rng, 100)
    y, y_test = _next_value(X), _next_value(X_test)
    forward_only = quiet_fit(GRUStepRegressor(max_iter=60, **SMALL), X, y)
    both = quiet_fit(GRUStepRegressor(bidirectional=True, max_iter=60, **SMALL), X, y)
    assert both.score(X_test, y_test) > 0.95
    assert forward_only.score(X_test, y_test) < 0.2


def test_vector_targets_learn_each_output(rng):
    X, X_test = _series(rng, 300, n_features=2), _series(rng, 100, n_features=2)

    def targets(X):  # a running sum of feature 0 and a product of the two features
        return [np.column_stack([np.cumsum(x[:, 0]) / 3, x[:, 0] * x[:, 1]]) for x in X]

    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                     max_iter=80, random_state=0), X, targets(X))
    t, p = np.concatenate(targets(X_test)), np.concatenate(est.predict(X_test))
    assert r2_score(t, p, multioutput="raw_values").min() > 0.8
    assert est.score(X_test, targets(X_test)) == pytest.approx(r2_score(t, p), abs=1e-9)


# --------------------------------------------------------------------- padding


def test_targets_at_padded_steps_change_nothing(rng):
    X = _series(rng, 30, lo=3, hi=9)
    y = _lagged_sum(X)
    X3 = padded(X)
    pad = np.isnan(X3[:, :, 0])
    y_a = padded(y, fill=0.0)
    y_b = y_a.copy()
    y_b[pad] = rng.standard_normal(pad.sum()) * 1e3
    y_c = padded(y)  # NaN at padding
    kw = dict(hidden_layer_sizes=(5,), max_iter=4, bidirectional=True, random_state=0)
    fits = [quiet_fit(GRUStepRegressor(**kw), X3, yy) for yy in (y_a, y_b, y_c)]
    ragged = quiet_fit(GRUStepRegressor(**kw), X, y)
    for est in fits[1:] + [ragged]:
        np.testing.assert_allclose(est.loss_curve_, fits[0].loss_curve_, rtol=1e-12)
        for name, w in fits[0].get_weights().items():
            np.testing.assert_allclose(est.get_weights()[name], w, rtol=0, atol=1e-12)
    assert fits[0].score(X3, y_b) == pytest.approx(ragged.score(X, y), abs=1e-12)


def test_loss_is_the_same_padded_or_ragged(rng):
    X = _series(rng, 10, lo=2, hi=8, n_features=2)
    y = [rng.standard_normal((len(x), 2)) for x in X]
    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0), X, y)
    lengths = np.array([len(x) for x in X])
    X3 = np.nan_to_num(padded(X)).transpose(1, 0, 2)  # time-major, zero padding
    Y3 = np.nan_to_num(padded(y)).transpose(1, 0, 2)
    mask = np.arange(X3.shape[0])[:, None] < lengths[None, :]
    full, _, _ = est._loss_grad(est.weights_, X3, lengths, Y3, mask.astype(float))
    ragged = [est._loss_grad(est.weights_, x[:, None], np.array([len(x)]), t[:, None],
                             np.ones((len(x), 1)))[0] * len(x) for x, t in zip(X, y)]
    assert full == pytest.approx(sum(ragged) / lengths.sum(), rel=1e-12)
    # Half the mean squared error over real steps and outputs, as MLPRegressor's.
    pred = np.concatenate(est.predict(X))
    assert full == pytest.approx(0.5 * np.mean((pred - np.concatenate(y)) ** 2), rel=1e-10)


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize("form", ["ragged", "3d", "2d"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_target_at_a_real_step_names_sequence_and_step(rng, form, bad):
    X = _series(rng, 5, lo=4, hi=6)
    y = _lagged_sum(X)
    if form == "2d":
        X, y = rng.standard_normal((6, 2)), rng.standard_normal(6)
        y[4] = bad
        where = "step 0 of sequence 4"
    else:
        y[2][1] = bad
        where = "step 1 of sequence 2"
        if form == "3d":
            X, y = padded(X), padded(y)
    kind = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(ValueError, match=f"Input y contains {kind} at {where}, a real step"):
        GRUStepRegressor(max_iter=1).fit(X, y)
    def finite(a):
        return np.where(np.isfinite(a), a, 0.0)

    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(2,), max_iter=1, random_state=0),
                    X, finite(y) if form != "ragged" else [finite(t) for t in y])
    with pytest.raises(ValueError, match=f"Input y contains {kind} at {where}"):
        est.score(X, y)


def test_wrong_lengths_and_shapes_are_clear_errors(rng):
    X = _series(rng, 5)
    y = _lagged_sum(X)
    short = list(y)
    short[3] = short[3][:-1]
    with pytest.raises(ValueError, match="Target sequence 3 has .* steps but sequence 3"):
        GRUStepRegressor().fit(X, short)
    with pytest.raises(ValueError, match="X has 5 sequences but y has 4"):
        GRUStepRegressor().fit(X, y[:4])
    mixed = [t[:, None] if i == 1 else t for i, t in enumerate(y)]
    with pytest.raises(ValueError, match="Target sequence 1 has 2 dimension"):
        GRUStepRegressor().fit(X, mixed)
    X3 = padded(X)
    T = X3.shape[1]
    with pytest.raises(ValueError, match=re.escape(f"y must have shape (5, {T}, [n_outputs])")):
        GRUStepRegressor().fit(X3, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        GRUStepRegressor().fit(rng.standard_normal((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="requires y to be passed"):
        GRUStepRegressor().fit(X, None)
    with pytest.raises(ValueError, match="y must be numeric"):
        GRUStepRegressor().fit(X, [np.array(["a"] * len(x)) for x in X])


# --------------------------------------------------------------------- weights, training


def test_sample_weight_equals_repetition(rng):
    X = _series(rng, 8, lo=2, hi=6)
    y = _lagged_sum(X)
    w = np.array([1, 3, 0, 2, 1, 1, 2, 1])
    X_rep = [x for x, k in zip(X, w) for _ in range(k)]
    y_rep = [t for t, k in zip(y, w) for _ in range(k)]
    kw = dict(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=30, random_state=0)
    weighted = quiet_fit(GRUStepRegressor(**kw), X, y, sample_weight=w)
    repeated = quiet_fit(GRUStepRegressor(**kw), X_rep, y_rep)
    for a, b in zip(weighted.predict(X), repeated.predict(X)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    # score: each sequence's weight on each of its steps.
    assert weighted.score(X, y, sample_weight=w) == pytest.approx(
        weighted.score(X_rep, y_rep), abs=1e-12)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(8,\)"):
        weighted.score(X, y, sample_weight=[1, 2])


def test_partial_fit_continues_and_warm_start_keeps_weights(rng):
    X = _series(rng, 40)
    y = _lagged_sum(X)
    est = GRUStepRegressor(hidden_layer_sizes=(4,), learning_rate_init=0.01, random_state=0)
    for _ in range(5):
        est.partial_fit(X, y)
    assert len(est.loss_curve_) == 5 and est.n_iter_ == 1
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    est.partial_fit(X[:5], y[:5], sample_weight=np.arange(5.0))
    with pytest.raises(ValueError, match="partial_fit cannot continue"):
        est.partial_fit(X, [np.column_stack([t, t]) for t in y])
    assert not hasattr(GRUStepRegressor(solver="lbfgs"), "partial_fit")
    warm = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(4,), max_iter=3, warm_start=True,
                                      random_state=0), X, y)
    before = warm.get_weights()
    quiet_fit(warm, X, y)
    assert len(warm.loss_curve_) == 6
    assert not np.array_equal(before["output.weight"], warm.weights_["output.weight"])


def test_early_stopping_scores_r2_of_the_held_out_tail(rng):
    X = _series(rng, 60)
    y = _lagged_sum(X)
    est = quiet_fit(GRUStepRegressor(early_stopping=True, validation_split="tail",
                                     validation_fraction=0.2, max_iter=15, **SMALL), X, y)
    assert len(est.validation_scores_) == est.n_iter_
    # The best weights are restored: their R² on the tail is the best validation score.
    assert est.score(X[48:], y[48:]) == pytest.approx(est.best_validation_score_, abs=1e-9)


def test_trivial_loss_is_the_mean_target_over_real_steps(rng):
    X = _series(rng, 40)
    y = [rng.standard_normal((len(x), 2)) * [1.0, 3.0] + [5.0, -1.0] for x in X]
    X3, y3 = padded(X), padded(y)
    y3[np.isnan(X3[:, :, 0])] = 1e6  # padding: ignored by the trivial loss too
    with pytest.warns(ConvergenceWarning, match=r"no better than a model that ignores its "
                                                r"input \(.*, the mean target\)"):
        est = GRUStepRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
        est.fit(X3, y3)
    Y = np.concatenate(y)
    expected = 0.5 * np.mean(Y.var(axis=0))
    assert est._trivial_loss == pytest.approx(expected, rel=1e-12)
    assert trivial_loss("squared_error", Y, np.ones(len(Y))) == pytest.approx(expected)


def test_float32_fit_predicts_float32(rng):
    X = [x.astype(np.float32) for x in _series(rng, 20)]
    y = _lagged_sum(X)
    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    assert est.weights_["output.bias"].dtype == np.float32
    assert est.predict(X)[0].dtype == np.float32
    est64 = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(3,), max_iter=2, dtype="float32",
                                       random_state=0), [x.astype(float) for x in X], y)
    assert est64.predict(X)[0].dtype == np.float32


def test_defaults_beat_the_mean_on_real_data():
    # The defaults are the product: scikit-learn's digits read row by row, the next row's
    # 8 pixels at every step (benchmarks/step_regressor_defaults.py has more seeds and the
    # sunspot numbers). The MSE is compared, not R²: the uniform average of R² over pixels
    # is dominated by the border pixels, which are almost always 0.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8) / 16.0
    Xtr, Xte, ytr, yte = train_test_split(images[:, :-1], images[:, 1:], test_size=0.25,
                                          stratify=labels, random_state=0)
    est = quiet_fit(GRUStepRegressor(random_state=0), Xtr, ytr)
    mse = np.mean((est.predict(Xte) - yte) ** 2)
    mse_mean = np.mean((ytr.reshape(-1, 8).mean(axis=0) - yte) ** 2)
    assert mse < 0.5 * mse_mean
    assert est.score(Xte, yte) > 0.1


# --------------------------------------------------------------------- model selection


def test_pipeline_with_sequence_scaler(rng):
    X = [x * 10 + 50 for x in _series(rng, 200)]
    X_test = [x * 10 + 50 for x in _series(rng, 60)]

    def target(X):
        return _lagged_sum([(x - 50) / 10 for x in X])

    pipe = make_pipeline(SequenceScaler(), GRUStepRegressor(max_iter=60, **SMALL))
    quiet_fit(pipe, X, target(X))
    assert pipe.score(X_test, target(X_test)) > 0.95
    assert [len(p) for p in pipe.predict(X_test)] == [len(x) for x in X_test]


def test_grid_search_and_cross_validate_on_ragged_with_flat_scorers(rng):
    X = _series(rng, 90)
    y = _lagged_sum(X)
    est = GRUStepRegressor(max_iter=15, learning_rate_init=0.02, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = GridSearchCV(est, {"hidden_layer_sizes": [(2,), (12,)]}, cv=3,
                            scoring=FLAT_SCORERS["r2"]).fit(X, y)
        res = cross_validate(est, X, y, cv=3,
                             scoring={"r2": FLAT_SCORERS["r2"],
                                      "mse": FLAT_SCORERS["neg_mean_squared_error"]})
        default = cross_val_score(est, X, y, cv=3)
    assert grid.best_params_ == {"hidden_layer_sizes": (12,)}
    assert np.all(res["test_mse"] < 0)
    np.testing.assert_allclose(default, res["test_r2"])  # score is the flat R²
    # The flat scorer also reads a NaN-padded prediction against list targets.
    best = grid.best_estimator_
    assert flat_r2_score(y, best.predict(padded(X))) == pytest.approx(best.score(X, y))


def test_sklearn_r2_scorer_name_does_not_score_ragged_targets(rng):
    X = _series(rng, 20, lo=3, hi=5)
    y = _lagged_sum(X)
    est = GRUStepRegressor(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError):
            cross_validate(est, X, y, scoring="r2", cv=2, error_score="raise")


# --------------------------------------------------------------------- gradient


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_loss_gradient_through_the_step_head_matches_finite_differences(rng, n_outputs):
    X = _series(rng, 3, lo=2, hi=5, n_features=2)
    y = [rng.standard_normal((len(x), n_outputs)) for x in X]
    w = np.array([1.0, 2.0, 0.5])
    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(3,), bidirectional=True, max_iter=1,
                                     random_state=0), X, y)
    lengths = np.array([len(x) for x in X])
    X3 = np.nan_to_num(padded(X)).transpose(1, 0, 2)
    Y3 = np.nan_to_num(padded(y)).transpose(1, 0, 2)
    if n_outputs == 1:
        Y3 = Y3[:, :, 0]  # the 1-D target layout
    mask = np.arange(X3.shape[0])[:, None] < lengths[None, :]
    sw = np.where(mask, w[None, :], 0.0)
    params = {k: v.copy() for k, v in est.weights_.items()}
    _, grads, _ = est._loss_grad(params, X3, lengths, Y3, sw)
    assert_gradients_match_finite_differences(
        lambda: est._loss_grad(params, X3, lengths, Y3, sw)[0], params, grads, abs=1e-7)


# --------------------------------------------------------------------- memory


def test_prediction_of_many_short_and_one_long_sequence_is_bounded(rng):
    # As GRUTagger's: no padded (n_timesteps, n_sequences) array, or the 1000 short sequences
    # would cost as much as 1000 long ones.

    long = rng.standard_normal((2000, 1))
    X = [rng.standard_normal((1, 1)) for _ in range(1000)] + [long]
    y = [np.cumsum(x[:, 0]) for x in X]
    X_train = _series(rng, 20)
    est = quiet_fit(GRUStepRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0),
                    X_train, _lagged_sum(X_train))
    model = sum(w.nbytes for w in est.weights_.values())

    pred, peak = traced(lambda: est.predict(X))
    _, peak_long_alone = traced(lambda: est.predict([long]))
    assert peak <= 2 * (peak_long_alone + sum(p.nbytes for p in pred) + model), peak
    assert [len(p) for p in pred] == [len(x) for x in X]
    _, peak = traced(lambda: est.score(X, y))
    _, peak_long_alone = traced(lambda: est.score([long], [y[-1]]))
    assert peak <= 2 * (peak_long_alone + sum(v.nbytes for v in y) + model), peak
