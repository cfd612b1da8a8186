"""The input contract (DESIGN section 2): every accepted and every rejected form of X."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from skrnn._sequences import check_sequences, check_step_targets, restore_structure


class _Dummy(BaseEstimator):
    pass


def test_3d_array_is_time_major_with_full_lengths(rng):
    X = rng.standard_normal((4, 6, 3))
    b = check_sequences(X)
    assert b.kind == "3d" and b.X.shape == (6, 4, 3)
    np.testing.assert_array_equal(b.X, X.transpose(1, 0, 2))
    assert b.lengths.tolist() == [6] * 4 and b.equal_lengths


def test_trailing_nan_steps_are_padding(rng):
    X = rng.standard_normal((3, 5, 2))
    X[0, 3:] = np.nan
    X[2, 1:] = np.nan
    b = check_sequences(X)
    assert b.lengths.tolist() == [3, 5, 1]
    assert np.all(b.X[3:, 0] == 0) and np.all(np.isfinite(b.X))


def test_ragged_list_equals_nan_padded_3d(rng):
    seqs = [rng.standard_normal((L, 2)) for L in (4, 1, 3)]
    padded = np.full((3, 4, 2), np.nan)
    for i, s in enumerate(seqs):
        padded[i, : len(s)] = s
    a, b = check_sequences(seqs), check_sequences(padded)
    assert a.kind == "ragged" and b.kind == "3d"
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    # A 1-D object array of sequences is a ragged list too.
    obj = np.empty(3, dtype=object)
    obj[:] = seqs
    np.testing.assert_array_equal(check_sequences(obj).X, a.X)


def test_2d_is_a_batch_of_length_one_sequences(rng):
    X = rng.standard_normal((5, 3))
    b = check_sequences(X)
    assert b.kind == "2d" and b.X.shape == (1, 5, 3) and b.lengths.tolist() == [1] * 5
    # An equal-length list of 1-D arrays is a 2-D array-like, as in scikit-learn.
    assert check_sequences([list(r) for r in X]).kind == "2d"


def test_float32_is_kept_and_ints_become_float64(rng):
    assert check_sequences(rng.standard_normal((2, 3, 1)).astype(np.float32)).X.dtype == \
        np.float32
    assert check_sequences(np.ones((2, 3, 1), dtype=int)).X.dtype == np.float64
    assert check_sequences([np.ones((2, 1), np.float32)]).X.dtype == np.float32


def test_n_features_is_the_last_axis_and_checked_at_predict(rng):
    est = _Dummy()
    check_sequences(rng.standard_normal((4, 7, 5)), estimator=est, reset=True)
    assert est.n_features_in_ == 5
    check_sequences(rng.standard_normal((2, 9, 5)), estimator=est, reset=False)  # new T: fine
    check_sequences(rng.standard_normal((3, 5)), estimator=est, reset=False)
    with pytest.raises(ValueError, match="X has 3 features, but _Dummy is expecting 5 "
                                         "features as input"):
        check_sequences(rng.standard_normal((2, 9, 3)), estimator=est, reset=False)
    with pytest.raises(ValueError, match="X has 3 features, but _Dummy is expecting 5"):
        check_sequences([rng.standard_normal((2, 3))], estimator=est, reset=False)


def test_feature_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    est = _Dummy()
    check_sequences(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), estimator=est)
    assert est.feature_names_in_.tolist() == ["a", "b"] and est.n_features_in_ == 2


REJECTED = [
    # (X, error type, message fragment)
    (np.zeros((0, 3, 2)), ValueError, "minimum of 1 sequence"),
    (np.zeros((2, 0, 2)), ValueError, "minimum of 1 sequence"),
    (np.zeros((0, 2)), ValueError, "0 sample"),
    ([], ValueError, "Expected 2D array|0 sample"),
    ([np.zeros((0, 2))], ValueError, "Sequence 0 of X has length 0"),
    ([np.ones((2, 2)), np.ones((3, 3))], ValueError, "Sequence 1 of X has 3 features but"),
    ([np.ones((2, 2)), np.ones(3)], ValueError, "Sequence 1 of X has 1 dimension"),
    ([np.ones(3), np.ones(4)], ValueError, "add a feature axis"),
    (np.zeros((2, 2, 2, 2)), ValueError, "X has 4 dimensions"),
    (np.ones((2, 3, 1)) * 1j, ValueError, "Complex data not supported"),
    ([np.ones((2, 1)) * 1j], ValueError, "Complex data not supported"),
    (np.array([[["a"]], [["b"]]], dtype=object), TypeError, "must contain numbers"),
    ([np.array([["a"], ["b"]], dtype=object)], TypeError, "must contain numbers"),
    (sp.csr_matrix(np.eye(3)), TypeError, "dense data is required"),
    ([sp.csr_matrix(np.eye(3))], TypeError, "sparse"),
    (None, ValueError, "requires X to be passed"),
    ("abc", TypeError, "X must be an array-like"),
    (np.ones(3), ValueError, "Expected 2D array"),
]


@pytest.mark.parametrize("X, error, match", REJECTED)
def test_malformed_input_gets_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        check_sequences(X, estimator=_Dummy())


@pytest.mark.parametrize("where", ["middle", "start", "inf"])
def test_nan_inside_a_sequence_names_sequence_and_step(rng, where):
    X = rng.standard_normal((3, 5, 2))
    if where == "middle":
        X[1, 2, 0] = np.nan  # one feature only: not padding
        expected = "NaN in sequence 1 at step 2"
    elif where == "start":
        X[2, 0, :] = np.nan  # whole step, but not trailing: not padding
        expected = "NaN in sequence 2 at step 0"
    else:
        X[0, 4, 1] = np.inf
        expected = "infinity in sequence 0 at step 4"
    with pytest.raises(ValueError, match=expected):
        check_sequences(X)
    with pytest.raises(ValueError, match=expected.replace("NaN", "(NaN|infinity)")):
        check_sequences(list(X))


def test_all_nan_sequence_is_zero_length():
    X = np.ones((2, 3, 1))
    X[1] = np.nan
    with pytest.raises(ValueError, match="Sequence 1 of X has length 0"):
        check_sequences(X)


def test_nan_in_2d_names_the_row():
    X = np.ones((4, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN in sequence 3"):
        check_sequences(X)


def test_take_trims_to_longest(rng):
    b = check_sequences([rng.standard_normal((L, 1)) for L in (5, 2, 3)])
    sub = b.take([1, 2])
    assert sub.X.shape == (3, 2, 1) and sub.lengths.tolist() == [2, 3]


@pytest.mark.parametrize("indices", [[1, 2], [0, 1, 2], [2, 0], [0, 2], [1]])
def test_take_equals_fancy_indexing_and_views_consecutive_runs(rng, indices):
    padded = np.full((3, 5, 2), np.nan)
    seqs = [rng.standard_normal((L, 2)) for L in (5, 2, 3)]
    for i, s in enumerate(seqs):
        padded[i, : len(s)] = s
    lazy, b = check_sequences(seqs), check_sequences(padded)
    sub, lazy_sub = b.take(indices), lazy.take(indices)
    T = b.lengths[indices].max()
    np.testing.assert_array_equal(sub.X, b.X[:T, indices])
    np.testing.assert_array_equal(lazy_sub.X, sub.X)
    np.testing.assert_array_equal(sub.lengths, b.lengths[indices])
    consecutive = np.array_equal(np.diff(indices), np.ones(len(indices) - 1))
    assert np.shares_memory(sub.X, b.X) == consecutive


def test_ragged_batch_pads_only_what_is_taken(rng):
    # A list input is padded lazily: a sub-batch pads its own sequences only, so
    # prediction in chunks never pads every sequence to the longest one.
    seqs = [rng.standard_normal((1, 2)) for _ in range(50)] + [rng.standard_normal((900, 2))]
    b = check_sequences(seqs)
    assert b.n_timesteps == 900 and b.n_features == 2 and b.dtype == np.float64
    assert b.take(np.arange(50)).X.shape == (1, 50, 2)
    assert b._X is None  # nothing padded to 900 steps yet
    assert b.X.shape == (900, 51, 2) and b.X[1:, 0].sum() == 0


# ------------------------------------------------------------------------ step targets
def test_step_targets_for_each_form(rng):
    seqs = [rng.standard_normal((L, 2)) for L in (3, 1, 2)]
    labels = [np.array(["a", "b", "c"]), np.array(["d"]), np.array(["e", "f"])]
    Y = check_step_targets(labels, check_sequences(seqs), numeric=False,
                           allow_multi_output=False)
    assert Y.shape == (3, 3) and Y[:, 0].tolist() == ["a", "b", "c"]
    Y3 = check_step_targets(np.arange(12.0).reshape(2, 6), check_sequences(
        rng.standard_normal((2, 6, 1))), numeric=True, allow_multi_output=True)
    assert Y3.shape == (6, 2)
    Y2 = check_step_targets(np.arange(4.0), check_sequences(rng.standard_normal((4, 2))),
                            numeric=True, allow_multi_output=True)
    assert Y2.shape == (1, 4)


def test_step_target_length_mismatch_names_the_sequence(rng):
    seqs = [rng.standard_normal((L, 2)) for L in (3, 2)]
    with pytest.raises(ValueError, match="Target sequence 1 has 3 steps but sequence 1"):
        check_step_targets([np.zeros(3), np.zeros(3)], check_sequences(seqs), numeric=True,
                           allow_multi_output=False)
    with pytest.raises(ValueError, match="X has 2 sequences but y has 1"):
        check_step_targets([np.zeros(3)], check_sequences(seqs), numeric=True,
                           allow_multi_output=False)
    with pytest.raises(ValueError, match="y must have shape"):
        check_step_targets(np.zeros((2, 4)), check_sequences(rng.standard_normal((2, 5, 1))),
                           numeric=True, allow_multi_output=False)


def test_step_targets_reject_nan_at_real_steps(rng):
    X = rng.standard_normal((2, 4, 1))
    X[0, 2:] = np.nan
    y = np.zeros((2, 4))
    y[0, 2:] = np.nan  # padding: fine
    check_step_targets(y, check_sequences(X), numeric=True, allow_multi_output=False)
    y[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_step_targets(y, check_sequences(X), numeric=True, allow_multi_output=False)


def test_restore_structure_round_trips(rng):
    seqs = [rng.standard_normal((L, 2)) for L in (3, 1, 2)]
    b = check_sequences(seqs)
    back = restore_structure(b.X, b)
    assert [s.shape for s in back] == [(3, 2), (1, 2), (2, 2)]
    for a, s in zip(back, seqs):
        np.testing.assert_array_equal(a, s)
    X = rng.standard_normal((3, 4, 2))
    X[1, 2:] = np.nan
    b3 = check_sequences(X)
    np.testing.assert_array_equal(restore_structure(b3.X, b3), X)
    b2 = check_sequences(X[:, 0])
    np.testing.assert_array_equal(restore_structure(b2.X, b2), X[:, 0])


# ------------------------------------------------------------------------ other layouts
def test_masked_array_mask_is_padding_like_nan(rng):
    X = rng.standard_normal((3, 5, 2))
    mask = np.zeros(X.shape, dtype=bool)
    mask[1, 3:] = True  # two trailing steps of sequence 1 masked: padding
    masked = check_sequences(np.ma.array(X, mask=mask))
    X_nan = X.copy()
    X_nan[mask] = np.nan
    np.testing.assert_array_equal(masked.lengths, [5, 3, 5])
    np.testing.assert_array_equal(masked.X, check_sequences(X_nan).X)
    # The data under the mask is never read, even when it is huge or NaN.
    X[mask] = np.nan
    np.testing.assert_array_equal(check_sequences(np.ma.array(X, mask=mask)).X, masked.X)
    ragged = check_sequences([np.ma.array(X[0], mask=mask[0]), X[2]])
    np.testing.assert_array_equal(ragged.lengths, [5, 5])


def test_float32_overflow_is_an_error_in_every_form():
    big = np.array([[1.0], [5e38]])
    for X in (big[None], [big, big[:1]]):
        with pytest.raises(ValueError, match="too large for float32"):
            check_sequences(X, dtype=np.float32)
        batch = check_sequences(X, dtype=np.float64)  # float64 holds it
        assert np.isfinite(batch.X).all()


def test_channel_first_layout_warns_and_points_to_the_transpose(rng):
    with pytest.warns(UserWarning, match=r"X.transpose\(0, 2, 1\)"):
        check_sequences(rng.standard_normal((50, 1, 150)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_sequences(rng.standard_normal((50, 150, 1)))  # the converted layout
        check_sequences(rng.standard_normal((50, 1, 3)))  # few features: single steps
        check_sequences(rng.standard_normal((500, 1, 150)))  # more sequences than features


def test_nested_dataframe_reads_as_a_list_of_sequences(rng):
    pd = pytest.importorskip("pandas")
    seqs = [rng.standard_normal((L, 2)) for L in (4, 2, 3)]
    df = pd.DataFrame({"x": [pd.Series(s[:, 0]) for s in seqs],
                       "y": [pd.Series(s[:, 1]) for s in seqs]})
    est = _Dummy()
    from_frame = check_sequences(df, estimator=est)
    assert list(est.feature_names_in_) == ["x", "y"] and est.n_features_in_ == 2
    np.testing.assert_array_equal(from_frame.X, check_sequences(seqs).X)
    np.testing.assert_array_equal(from_frame.lengths, [4, 2, 3])
    df.iloc[1, 0] = 3.0  # a scalar among series
    with pytest.raises(ValueError, match="Row 1 of the nested DataFrame X has a cell"):
        check_sequences(df)


def test_list_targets_go_with_padded_3d_x_whatever_their_lengths(rng):
    X = rng.standard_normal((3, 4, 1))
    X[:, 3:] = np.nan  # every sequence has 3 real steps: equal lengths, padded to 4
    batch = check_sequences(X)
    y = [np.array([0, 1, 0]), np.array([1, 1, 0]), np.array([0, 0, 1])]
    Y = check_step_targets(y, batch, numeric=False, allow_multi_output=False)
    np.testing.assert_array_equal(Y[:3], np.array(y).T)
    full = [np.append(s, -1) for s in y]  # rows of the padded length read as an array
    Y_full = check_step_targets(full, batch, numeric=False, allow_multi_output=False)
    np.testing.assert_array_equal(Y_full[:3], Y[:3])
    with pytest.raises(ValueError, match="Target sequence 1 has 2 steps but sequence 1 of X"):
        check_step_targets([y[0], y[1][:2], y[2]], batch, numeric=False,
                           allow_multi_output=False)
