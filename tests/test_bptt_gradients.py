"""The BPTT core against central finite differences, in float64, for every cell and option."""

import numpy as np
import pytest
from cell_options import DENSE_CELL_OPTIONS
from finite_differences import max_rel_error, numeric_grads

from skrnn._bptt import (
    RecurrentConfig,
    backward,
    clip_grad_norm,
    forward,
    init_params,
    make_dropout_masks,
    truncation_cuts,
)


def _random_problem(rng, options, hidden=(4,), bidirectional=False, lengths=(5, 3, 1, 4),
                    d=3):
    cfg = RecurrentConfig(input_size=d, hidden_sizes=hidden, bidirectional=bidirectional,
                          **options)
    params = init_params(cfg, rng)
    for name in params:  # leave the init's special values: test generic weights
        params[name] = params[name] + 0.3 * rng.standard_normal(params[name].shape)
    lengths = np.asarray(lengths)
    T, n = int(lengths.max()), len(lengths)
    X = rng.standard_normal((T, n, d))
    X[np.arange(T)[:, None] >= lengths[None, :]] = 0
    G_out = rng.standard_normal((T, n, cfg.output_size))
    G_out[np.arange(T)[:, None] >= lengths[None, :]] = 0
    G_fin = rng.standard_normal((n, cfg.output_size))
    return cfg, params, X, lengths, G_out, G_fin


def _objective(cfg, params, X, lengths, G_out, G_fin, masks=None):
    res = forward(cfg, params, X, lengths, dropout_masks=masks, keep_cache=False)
    return float(np.sum(res.outputs * G_out) + np.sum(res.final_states * G_fin))


@pytest.mark.parametrize("options", DENSE_CELL_OPTIONS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_gradients_match_finite_differences(rng, options, bidirectional):
    # Two stacked layers of different widths over a ragged batch.
    cfg, params, X, lengths, G_out, G_fin = _random_problem(
        rng, options, hidden=(4, 3), bidirectional=bidirectional)
    res = forward(cfg, params, X, lengths)
    grads, dX = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin,
                         need_input_grad=True)
    numeric = numeric_grads(lambda: _objective(cfg, params, X, lengths, G_out, G_fin),
                             params)
    assert max_rel_error(grads, numeric) < 1e-6
    # The input gradient too (the first layer's dX), at real steps.
    numeric_x = numeric_grads(lambda: _objective(cfg, params, X, lengths, G_out, G_fin),
                               {"X": X})["X"]
    real = np.arange(X.shape[0])[:, None] < lengths[None, :]
    np.testing.assert_allclose(dX[real], numeric_x[real], atol=1e-6)


@pytest.mark.parametrize("options", DENSE_CELL_OPTIONS[::2])
def test_dropout_gradients_with_fixed_mask(rng, options):
    cfg, params, X, lengths, G_out, G_fin = _random_problem(
        rng, options, hidden=(3, 4, 2), bidirectional=True)
    masks = make_dropout_masks(cfg, rng, X.shape[0], X.shape[1], rate=0.4)
    assert np.all((masks[0] == 0) | np.isclose(masks[0], 1 / 0.6))
    assert 0.2 < np.mean(masks[0] == 0) < 0.6
    res = forward(cfg, params, X, lengths, dropout_masks=masks)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    numeric = numeric_grads(
        lambda: _objective(cfg, params, X, lengths, G_out, G_fin, masks), params)
    assert max_rel_error(grads, numeric) < 1e-6


# --------------------------------------------------------------------- truncated BPTT
# An independent reference: the truncated objective, in which the state entering each
# window is a constant taken from an unperturbed run. Its exact gradient is what
# truncated BPTT must compute.


def _ref_step(cell, p, x, h, c):
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    if cell == "rnn":
        return np.tanh(p["weight_ih_l0"] @ x + p["bias_ih_l0"] + p["weight_hh_l0"] @ h
                       + p["bias_hh_l0"]), None
    z = p["weight_ih_l0"] @ x + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
    i, f, g, o = np.split(z, 4)
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def _ref_truncated_objective(cell, p, p0, seq, g_out, g_fin, k):
    """Sum over one sequence of outputs * g_out plus final * g_fin, windows of k steps
    counted back from the end, each window starting from the state of an unperturbed run."""
    L, h = seq.shape[0], p["weight_hh_l0"].shape[1]
    h0, c0 = np.zeros(h), np.zeros(h)
    start_states = {}
    hh, cc = h0, c0
    for t in range(L):  # states under p0 at every step
        start_states[t] = (hh, cc)
        hh, cc = _ref_step(cell, p0, seq[t], hh, cc)
    total, hh, cc = 0.0, h0, c0
    for t in range(L):
        if t > 0 and (L - t) % k == 0:
            hh, cc = start_states[t]
        hh, cc = _ref_step(cell, p, seq[t], hh, cc)
        total += hh @ g_out[t]
    return total + hh @ g_fin


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_bptt_matches_truncated_objective(rng, cell, k):
    cfg, params, X, lengths, G_out, G_fin = _random_problem(
        rng, dict(cell=cell), hidden=(3,), lengths=(7, 4, 2, 5))
    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin,
                     bptt_truncate=k)
    p0 = {name: v.copy() for name, v in params.items()}

    def truncated():
        return sum(
            _ref_truncated_objective(cell, params, p0, X[: L, b], G_out[: L, b], G_fin[b], k)
            for b, L in enumerate(lengths))

    numeric = numeric_grads(truncated, params)
    assert max_rel_error(grads, numeric) < 1e-6
    # With a window longer than every sequence, truncation changes nothing.
    full = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    long = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin,
                    bptt_truncate=int(lengths.max()))
    for name in full:
        np.testing.assert_allclose(long[name], full[name], rtol=0, atol=1e-14)


def test_truncation_cuts_count_back_from_each_sequence_end():
    cuts = truncation_cuts(np.array([7, 3]), 7, 3)
    assert np.nonzero(cuts[:, 0])[0].tolist() == [1, 4]
    assert np.nonzero(cuts[:, 1])[0].tolist() == []  # length 3: one window, no cut


def test_reference_objective_agrees_with_core_forward(rng):
    # Guards the reference itself: with k larger than the sequence it is the plain forward.
    cfg, params, X, lengths, G_out, G_fin = _random_problem(rng, dict(cell="lstm"),
                                                             hidden=(3,))
    core = _objective(cfg, params, X, lengths, G_out, G_fin)
    ref = sum(_ref_truncated_objective("lstm", params, params, X[: L, b], G_out[: L, b],
                                       G_fin[b], 100) for b, L in enumerate(lengths))
    assert core == pytest.approx(ref, rel=1e-12)


# ---------------------------------------------------------------------- padding & dtype
@pytest.mark.parametrize("options", DENSE_CELL_OPTIONS)
def test_padded_batch_equals_each_sequence_alone(rng, options):
    cfg, params, X, lengths, G_out, G_fin = _random_problem(
        rng, options, hidden=(4, 3), bidirectional=True)
    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    total = {name: np.zeros_like(v) for name, v in params.items()}
    for b, L in enumerate(lengths):
        one = forward(cfg, params, X[:L, b: b + 1], np.array([L]))
        np.testing.assert_allclose(one.outputs[:, 0], res.outputs[:L, b], rtol=0, atol=1e-12)
        np.testing.assert_allclose(one.final_states[0], res.final_states[b], rtol=0,
                                   atol=1e-12)
        g = backward(cfg, params, one.cache, d_outputs=G_out[:L, b: b + 1],
                     d_final=G_fin[b: b + 1])
        for name in total:
            total[name] += g[name]
    assert np.all(res.outputs[np.arange(X.shape[0])[:, None] >= lengths[None, :]] == 0)
    for name in total:
        np.testing.assert_allclose(grads[name], total[name], rtol=0, atol=1e-12)


def test_gradients_ignore_padding_values(rng):
    cfg, params, X, lengths, G_out, G_fin = _random_problem(rng, dict(cell="gru"),
                                                             bidirectional=True)
    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    pad = np.arange(X.shape[0])[:, None] >= lengths[None, :]
    X2, G2 = X.copy(), G_out.copy()
    X2[pad] = 1e3
    G2[pad] = -7.0
    res2 = forward(cfg, params, X2, lengths)
    grads2 = backward(cfg, params, res2.cache, d_outputs=G2, d_final=G_fin)
    np.testing.assert_array_equal(res.final_states, res2.final_states)
    for name in grads:
        np.testing.assert_array_equal(grads[name], grads2[name])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_stays_float32(rng, cell):
    cfg = RecurrentConfig(cell, 3, (4,), bidirectional=True)
    params = init_params(cfg, rng, dtype=np.float32)
    X = rng.standard_normal((5, 2, 3)).astype(np.float32)
    res = forward(cfg, params, X, np.array([5, 3]))
    assert res.outputs.dtype == np.float32 and res.final_states.dtype == np.float32
    grads = backward(cfg, params, res.cache, d_final=np.ones((2, 8), np.float32))
    assert all(g.dtype == np.float32 for g in grads.values())


def test_clip_grad_norm_scales_to_max_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert clip_grad_norm(grads, None) == pytest.approx(1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    small = {"a": np.array([0.1])}
    clip_grad_norm(small, 1.0)
    assert small["a"][0] == 0.1


# ---------------------------------------------------------------------- clockwork
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_clockwork_gradients_match_finite_differences(rng, bidirectional, activation):
    options = dict(cell="clockwork", clock_periods=(1, 2, 4), activation=activation)
    cfg, params, X, lengths, G_out, G_fin = _random_problem(
        rng, options, hidden=(6, 3), bidirectional=bidirectional, lengths=(7, 3, 5, 1))
    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    numeric = numeric_grads(lambda: _objective(cfg, params, X, lengths, G_out, G_fin),
                             params)
    assert max_rel_error(grads, numeric) < 1e-6
    for k in range(2):  # no gradient on the structural zeros
        mask = cfg.recurrent_mask(k)
        for s in cfg.suffixes():
            assert np.all(grads[f"weight_hh_l{k}{s}"][~mask] == 0)


def test_clockwork_modules_keep_their_state_off_the_clock(rng):
    cfg = RecurrentConfig("clockwork", 2, (4,), clock_periods=(1, 2))
    params = init_params(cfg, rng)
    X = rng.standard_normal((6, 3, 2))
    H = forward(cfg, params, X, np.full(3, 6)).outputs  # (T, n, h)
    slow = slice(2, 4)  # module with period 2 ticks at t = 0, 2, 4
    for t in (1, 3, 5):
        np.testing.assert_array_equal(H[t][:, slow], H[t - 1][:, slow])
    assert not np.allclose(H[2][:, slow], H[1][:, slow])
    # Slow modules never hear fast ones: the block below the diagonal is zero.
    assert np.all(params["weight_hh_l0"][2:, :2] == 0)


def test_clockwork_periods_are_validated():
    with pytest.raises(ValueError, match="divide the next"):
        _ = RecurrentConfig("clockwork", 2, (6,), clock_periods=(2, 3)).periods
    with pytest.raises(ValueError, match="modules of equal size"):
        _ = RecurrentConfig("clockwork", 2, (6,), clock_periods=(1, 2, 4, 8)).periods
