"""GRUTagger and skrnn.metrics: per-step labels, padding invariance, memory, the future."""

import warnings

import numpy as np
import pytest
from fitting_support import padded, quiet_fit
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate

from skrnn import GRUTagger
from skrnn.metrics import FLAT_SCORERS, flat_accuracy_score, flat_f1_score, flatten_steps


def _tokens(rng, n, k=3, lo=5, hi=12):
    seqs = [rng.integers(0, k, size=int(rng.integers(lo, hi + 1))) for _ in range(n)]
    return seqs, [np.eye(k)[s] for s in seqs]


def _delay_tags(seqs):
    """Tag at step t is the token at t - 2 (memory of the past)."""
    return [np.array(["none"] * 2 + [f"t{v}" for v in s[:-2]])[: len(s)] for s in seqs]


def _lookahead_tags(seqs):
    """Tag at step t is the token at t + 1 (needs the future)."""
    return [np.array([f"t{v}" for v in s[1:]] + ["end"]) for s in seqs]


def test_memory_task_reaches_99_percent_token_accuracy(rng):
    seqs, X = _tokens(rng, 400)
    test_seqs, X_test = _tokens(rng, 200)
    tagger = quiet_fit(GRUTagger(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=60,
                                 batch_size=32, random_state=0), X, _delay_tags(seqs))
    assert tagger.score(X_test, _delay_tags(test_seqs)) >= 0.99
    pred = tagger.predict(X_test)
    assert isinstance(pred, list) and [len(p) for p in pred] == [len(s) for s in test_seqs]
    assert pred[0].dtype.kind == "U"  # string tags come back as strings


def test_the_future_needs_bidirectional(rng):
    seqs, X = _tokens(rng, 400)
    test_seqs, X_test = _tokens(rng, 200)
    y, y_test = _lookahead_tags(seqs), _lookahead_tags(test_seqs)
    kwargs = dict(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=60,
                  batch_size=32, random_state=0)
    forward_only = quiet_fit(GRUTagger(**kwargs), X, y)
    both = quiet_fit(GRUTagger(bidirectional=True, **kwargs), X, y)
    assert both.score(X_test, y_test) >= 0.99
    assert forward_only.score(X_test, y_test) < 0.5


def test_ragged_and_nan_padded_3d_give_the_same_predictions(rng):
    seqs, X = _tokens(rng, 60)
    y = _delay_tags(seqs)
    tagger = quiet_fit(GRUTagger(hidden_layer_sizes=(6,), max_iter=10, bidirectional=True,
                                 random_state=0), X, y)
    X3 = padded(X)
    proba_list, proba_3d = tagger.predict_proba(X), tagger.predict_proba(X3)
    assert proba_3d.shape == (60, 12, len(tagger.classes_))
    for i, p in enumerate(proba_list):
        np.testing.assert_allclose(proba_3d[i, : len(p)], p, rtol=0, atol=1e-12)
        assert np.all(np.isnan(proba_3d[i, len(p):]))
    pred3 = tagger.predict(X3)
    for i, p in enumerate(tagger.predict(X)):
        assert list(pred3[i, : len(p)]) == list(p)
        assert all(v is None for v in pred3[i, len(p):])
    # Fitting on the padded form gives the same model as on the ragged form.
    y3 = padded([np.array(t, dtype=object) for t in y], fill=None)
    a = quiet_fit(GRUTagger(hidden_layer_sizes=(6,), max_iter=3, random_state=0), X, y)
    b = quiet_fit(GRUTagger(hidden_layer_sizes=(6,), max_iter=3, random_state=0), X3, y3)
    for name, w in a.get_weights().items():
        np.testing.assert_allclose(b.get_weights()[name], w, rtol=0, atol=1e-12)


def test_padding_contributes_nothing_to_loss_or_gradients(rng):
    seqs, X = _tokens(rng, 40)
    X3 = padded(X, fill=0.0)
    lengths = np.array([len(s) for s in seqs])
    y3 = padded([np.asarray(s) for s in seqs], fill=0).astype(int)
    # The same data with garbage at the padded steps, marked as padding by NaN inputs.
    X3_nan, X3_junk, y3_junk = X3.copy(), X3.copy(), y3.copy()
    pad = np.arange(X3.shape[1])[None, :] >= lengths[:, None]
    X3_nan[pad] = np.nan
    X3_junk[pad] = np.nan
    y3_junk[pad] = 2  # a real class, but at padded steps
    kw = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0, bidirectional=True)
    a = quiet_fit(GRUTagger(**kw), X3_nan, np.where(pad, 0, y3))
    b = quiet_fit(GRUTagger(**kw), X3_junk, y3_junk)
    assert a.loss_curve_ == b.loss_curve_
    for name, w in a.get_weights().items():
        np.testing.assert_array_equal(b.get_weights()[name], w)


def test_2d_input_is_ordinary_classification(rng):
    X = rng.standard_normal((100, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    tagger = quiet_fit(GRUTagger(max_iter=100, learning_rate_init=0.01, random_state=0), X, y)
    assert tagger.predict(X).shape == (100,) and tagger.score(X, y) > 0.9
    assert tagger.predict_proba(X).shape == (100, 2)


def test_label_length_mismatch_names_the_sequence(rng):
    seqs, X = _tokens(rng, 5)
    y = _delay_tags(seqs)
    y[3] = y[3][:-1]
    with pytest.raises(ValueError, match="Target sequence 3 has .* steps but sequence 3"):
        GRUTagger().fit(X, y)


def test_grid_search_and_cross_validate_with_flat_scorers_on_ragged(rng):
    seqs, X = _tokens(rng, 90)
    y = _delay_tags(seqs)
    grid = GridSearchCV(GRUTagger(max_iter=15, learning_rate_init=0.02, random_state=0),
                        {"hidden_layer_sizes": [(4,), (12,)]}, cv=3,
                        scoring=FLAT_SCORERS["f1_macro"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
        res = cross_validate(GRUTagger(max_iter=15, learning_rate_init=0.02,
                                       random_state=0), X, y, cv=3,
                             scoring={"acc": FLAT_SCORERS["accuracy"],
                                      "f1": FLAT_SCORERS["f1_macro"]})
        default = cross_val_score(GRUTagger(max_iter=15, learning_rate_init=0.02,
                                            random_state=0), X, y, cv=3)
    assert grid.best_params_["hidden_layer_sizes"] in [(4,), (12,)]
    assert res["test_acc"].shape == (3,) and np.all(res["test_f1"] <= 1)
    # The default score is token accuracy, the same as the flat accuracy scorer.
    np.testing.assert_allclose(default, res["test_acc"])


def test_flat_metrics_flatten_real_steps_only():
    y_true = [np.array(["a", "b", "a"]), np.array(["b"])]
    y_pred = [np.array(["a", "a", "a"]), np.array(["b"])]
    assert flat_accuracy_score(y_true, y_pred) == 0.75
    assert flat_f1_score(y_true, y_pred, average="micro") == 0.75
    padded_true = np.array([[1.0, 2.0, 1.0], [2.0, np.nan, np.nan]])
    padded_pred = np.array([[1.0, 1.0, 1.0], [2.0, np.nan, np.nan]])
    t, p = flatten_steps(padded_true, padded_pred)
    assert t.tolist() == [1, 2, 1, 2] and p.tolist() == [1, 1, 1, 2]
    with pytest.raises(ValueError, match="same structure"):
        flatten_steps(y_true, [np.array(["a"])])


def test_partial_fit_with_classes_and_sample_weight(rng):
    seqs, X = _tokens(rng, 30)
    y = _delay_tags(seqs)
    tagger = GRUTagger(hidden_layer_sizes=(4,), random_state=0)
    tagger.partial_fit(X, y, classes=["none", "t0", "t1", "t2"])
    tagger.partial_fit(X[:10], y[:10], sample_weight=np.arange(10.0))
    assert len(tagger.loss_curve_) == 2 and list(tagger.classes_) == ["none", "t0", "t1", "t2"]


def test_padded_3d_x_with_list_y_in_fit_score_and_flat_scorers(rng):
    seqs, X = _tokens(rng, 30)
    y = _delay_tags(seqs)
    Xp = padded(X)
    tagger = quiet_fit(GRUTagger(hidden_layer_sizes=(6,), max_iter=5, random_state=0), Xp, y)
    pred = tagger.predict(Xp)  # (n_sequences, n_timesteps), None at padded steps
    expected = tagger.score(X, y)
    assert tagger.score(Xp, y) == expected
    assert flat_accuracy_score(y, pred) == expected
    assert FLAT_SCORERS["accuracy"](tagger, Xp, y) == expected
    # Equal lengths padded to a longer array: the list is per sequence, as when ragged.
    same = [s[:5] for s in seqs]
    y_same, X_same = _delay_tags(same), padded([np.eye(3)[s] for s in same] +
                                               [np.eye(3)[seqs[0][:7]]])[:-1]
    assert X_same.shape[1] == 7
    quiet_fit(GRUTagger(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X_same, y_same)
    with pytest.raises(ValueError, match="predictions after the 2 steps of sequence 0"):
        flat_accuracy_score([y[0][:2]] + y[1:], pred)


def test_empty_string_padding_labels_are_padding_in_fit_and_flat_metrics(rng):
    seqs, X = _tokens(rng, 20)
    y = _delay_tags(seqs)
    Xp = padded(X)
    y_pad = np.full(Xp.shape[:2], "", dtype=object)
    for i, s in enumerate(y):
        y_pad[i, : len(s)] = s
    tagger = quiet_fit(GRUTagger(hidden_layer_sizes=(6,), max_iter=5, random_state=0), Xp, y_pad)
    assert "" not in tagger.classes_
    pred = tagger.predict(Xp)
    assert flat_accuracy_score(y_pad, pred) == tagger.score(Xp, y_pad) == tagger.score(X, y)
    # "" at a real step (y_pred present) is a label like any other, not padding.
    t, p = flatten_steps(np.array([["", "a"]], dtype=object), np.array([["a", "a"]]))
    assert t.tolist() == ["", "a"]


def test_tagger_score_sample_weight_is_one_per_sequence(rng):
    seqs, X = _tokens(rng, 12)
    y = _delay_tags(seqs)
    tagger = quiet_fit(GRUTagger(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(12,\)"):
        tagger.score(X, y, sample_weight=[1, 2])
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        tagger.score(X, y, sample_weight=[1.0] * 11 + [-1.0])
    w = np.zeros(12)
    w[3] = 1.0
    assert tagger.score(X, y, sample_weight=w) == tagger.score([X[3]], [y[3]])


@pytest.mark.parametrize("bad, where", [(None, "step 1 of sequence 2"),
                                        (np.nan, "step 1 of sequence 2")])
def test_missing_tags_at_real_steps_name_the_step(rng, bad, where):
    seqs, X = _tokens(rng, 6)
    y = [s.astype(object) for s in _delay_tags(seqs)]
    y[2][1] = bad
    with pytest.raises(ValueError, match=f"Input y contains NaN or None at {where}"):
        GRUTagger(max_iter=1).fit(X, y)


def test_sklearn_scorer_names_do_not_score_tags_as_the_docstring_says(rng):
    # The three failure modes the docstring and the input-contract page describe, next to
    # the flat scorer that works; if scikit-learn changes them, the docs must change too.
    X = rng.standard_normal((20, 5, 1))
    y01 = (X[:, :, 0] > 0).astype(int)
    y3 = np.digitize(X[:, :, 0], [-0.5, 0.5])
    ragged = [x[: 3 + i % 3] for i, x in enumerate(X)]
    y_ragged = [t[: len(x)] for t, x in zip(y01, ragged)]
    est = GRUTagger(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="unknown is not supported"):
            cross_validate(est, ragged, y_ragged, scoring="accuracy", cv=2,
                           error_score="raise")
        with pytest.raises(ValueError, match="multiclass-multioutput is not supported"):
            cross_validate(est, X, y3, scoring="accuracy", cv=2, error_score="raise")
        subset = cross_validate(est, X, y01, scoring="accuracy", cv=2)["test_score"]
        flat = cross_validate(est, X, y01, scoring=FLAT_SCORERS["accuracy"], cv=2)
        default = cross_validate(est, X, y01, cv=2)
    np.testing.assert_allclose(flat["test_score"], default["test_score"])
    assert np.all(subset < flat["test_score"])  # whole sequences right, not steps
