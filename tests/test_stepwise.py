"""Running a stack one step at a time: ``Cell.feed``, ``StepRunner`` and the decoder.

- Every cell's ``feed`` makes of one step's input what ``start_forward`` makes of it: the
  steps, and with a cache the backward pass, give the same results as from the whole input.
- ``StepRunner`` fed one step at a time equals ``forward`` over the whole input (top layer,
  ``h_n``, ``c_n``), for every cell and option, 1 and 2 layers, with and without initial
  states and dropout masks, float32 and float64.
- ``decode`` and ``sampled_inputs`` equal the per-step ``forward`` loop they replaced, kept
  here as the reference.
"""

import warnings

import numpy as np
import pytest
from cell_options import CELL_OPTIONS
from sklearn.exceptions import ConvergenceWarning
from test_bptt_cells import MinimalGatedUnit

from skrnn import Seq2SeqRegressor
from skrnn._bptt import (
    RecurrentConfig,
    StepRunner,
    _backward_direction,
    forward,
    init_params,
    make_dropout_masks,
)
from skrnn._decoder import bridge_states, decode, decoder_params, sampled_inputs
from skrnn.cells import Cell

# The decoder's cells (Seq2SeqRegressor refuses the clockwork).
DECODER_OPTIONS = [p for p in CELL_OPTIONS if p.id != "clockwork"]

# Layer 0 reads 3 features into 2 units, layer 1 reads 2 into 6: unequal widths, and
# both of the Elman cells' input projections (bias added; bias folded into the product).
INPUT_SIZE, SIZES = 3, {1: (4,), 2: (2, 6)}
DTYPES = [np.float64, np.float32]


def _tol(dtype):
    return dict(rtol=0, atol=1e-12 if dtype == np.float64 else 2e-6)


def _params(rng, cfg, dtype):
    """Generic weights (not the init's special values) of ``dtype``."""
    params = init_params(cfg, rng)
    return {k: (v + 0.3 * rng.standard_normal(v.shape)).astype(dtype)
            for k, v in params.items()}


def _states(rng, cfg, n, dtype):
    return [rng.standard_normal((n, h)).astype(dtype) for h in cfg.hidden_sizes]


def _dropout(rng, cfg, T, n, dtype):
    return make_dropout_masks(cfg, rng, T, n, 0.4, dtype)


# ------------------------------------------------------------------ Cell.feed
@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("layer", [0, 1], ids=["bias-added", "bias-folded"])
@pytest.mark.parametrize("keep", [False, True], ids=["inference", "cache"])
@pytest.mark.parametrize("with_states", [False, True], ids=["zero-start", "h0"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_feed_makes_what_start_forward_makes(rng, options, layer, keep, with_states,
                                             dtype):
    cfg = RecurrentConfig(input_size=INPUT_SIZE, hidden_sizes=SIZES[2], **options)
    cell = cfg.cell_of(layer)
    h, d, T, n = cell.hidden, cell.input_size, 5, 4
    p = {k: v.astype(dtype) for k, v in cell.init_params(rng, "uniform").items()}
    X = rng.standard_normal((T, d, n)).astype(dtype)
    h0 = rng.standard_normal((h, n)).astype(dtype) if with_states else None
    c0 = (rng.standard_normal((h, n)).astype(dtype)
          if with_states and cell.has_cell_state else None)
    whole = cell.start_forward(p, X, h0, c0, keep)
    # The placeholder holds other values than X: feed must overwrite all it left.
    placeholder = rng.standard_normal(X.shape).astype(dtype)
    fed = cell.start_forward(p, placeholder, h0, c0, keep)
    tol = _tol(dtype)
    for t in range(T):
        cell.step(whole, t)
        cell.feed(fed, t, X[t])
        cell.step(fed, t)
        np.testing.assert_allclose(fed.H[t + 1], whole.H[t + 1], **tol)
        if cell.has_cell_state:
            np.testing.assert_allclose(fed.C[t + 1], whole.C[t + 1], **tol)
    if keep:  # the backward pass reads the buffers feed wrote
        dh = rng.standard_normal((n, h)).astype(dtype)
        d_out = rng.standard_normal((T, h, n)).astype(dtype)
        dc = rng.standard_normal((n, h)).astype(dtype) if cell.has_cell_state else None
        a, b = (_backward_direction(cell, p, tr, X, [None] * T, d_out.copy(), dh, None,
                                    True, dc_final=dc) for tr in (whole, fed))
        for name in a[0]:  # sums over steps: a relative tolerance
            np.testing.assert_allclose(b[0][name], a[0][name], err_msg=name,
                                       rtol=1e-10 if dtype == np.float64 else 1e-5,
                                       atol=tol["atol"])
        np.testing.assert_allclose(b[1], a[1], **tol)  # dX
        np.testing.assert_allclose(b[2], a[2], **tol)  # dh0


# ------------------------------------------------------------------ StepRunner
def _compare_runner(rng, cfg, dtype, with_states, dropout):
    T, n = 6, 5
    params = _params(rng, cfg, dtype)
    X = rng.standard_normal((T, n, cfg.input_size)).astype(dtype)
    h0 = _states(rng, cfg, n, dtype) if with_states else None
    c0 = (_states(rng, cfg, n, dtype)
          if with_states and cfg.cell_of(0).has_cell_state else None)
    masks = _dropout(rng, cfg, T, n, dtype) if dropout else None
    res = forward(cfg, params, X, np.full(n, T), h0=h0, c0=c0, dropout_masks=masks,
                  keep_cache=False)
    runner = StepRunner(cfg, params, T, n, h0=h0, c0=c0)
    tol = _tol(dtype)
    for t in range(T):
        step_masks = None if masks is None else [m[t] for m in masks]
        top = runner.step(X[t], step_masks)
        assert top.shape == (cfg.output_size, n) and top.dtype == dtype
        np.testing.assert_allclose(top, res.top[t], **tol)
    assert runner.t == T
    for a, b in zip(runner.h_n, res.h_n, strict=True):
        np.testing.assert_allclose(a, b, **tol)
    if res.c_n is None:
        assert runner.c_n is None
    else:
        for a, b in zip(runner.c_n, res.c_n, strict=True):
            np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(runner.final_states, res.final_states, **tol)


@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("with_states", [False, True], ids=["zero-start", "h0"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_runner_equals_forward_on_the_whole_input(rng, options, n_layers, with_states,
                                                  dtype):
    cfg = RecurrentConfig(input_size=INPUT_SIZE, hidden_sizes=SIZES[n_layers], **options)
    _compare_runner(rng, cfg, dtype, with_states, dropout=False)


@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_runner_equals_forward_with_tanh_through_exp(rng, monkeypatch, options, dtype):
    # Large inference steps compute the gated cells' tanh through exp, with rescaled
    # weights that feed must use too: force that route on this small problem.
    import skrnn.cells.base

    monkeypatch.setattr(skrnn.cells.base, "TANH_BY_EXP_MIN_VALUES", 0)
    cfg = RecurrentConfig(input_size=INPUT_SIZE, hidden_sizes=SIZES[2], **options)
    _compare_runner(rng, cfg, dtype, with_states=True, dropout=False)


@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_runner_applies_each_steps_dropout_masks(rng, options, dtype):
    cfg = RecurrentConfig(input_size=INPUT_SIZE, hidden_sizes=(2, 6, 4), **options)
    _compare_runner(rng, cfg, dtype, with_states=True, dropout=True)


def test_runner_runs_a_cell_from_outside_the_package(rng):
    cfg = RecurrentConfig(MinimalGatedUnit, 3, (4, 3))
    _compare_runner(rng, cfg, np.float64, with_states=True, dropout=True)


def test_runner_state_before_any_step_is_the_initial_state(rng):
    cfg = RecurrentConfig("lstm", 3, (4, 2))
    params = _params(rng, cfg, np.float64)
    h0, c0 = _states(rng, cfg, 5, np.float64), _states(rng, cfg, 5, np.float64)
    runner = StepRunner(cfg, params, 3, 5, h0=h0, c0=c0)
    for a, b in zip(runner.h_n + runner.c_n, h0 + c0, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_cell_without_feed_is_a_clear_error(rng):
    class NoFeed(MinimalGatedUnit):
        feed = Cell.feed

    cfg = RecurrentConfig(NoFeed, 3, (4,))
    runner = StepRunner(cfg, _params(rng, cfg, np.float64), 2, 5)
    with pytest.raises(NotImplementedError,
                       match=r"NoFeed does not implement feed\(tr, t, x\), which sets one "
                             r"step's input in a started trace"):
        runner.step(np.zeros((5, 3)))


def test_runner_errors(rng):
    bi = RecurrentConfig("gru", 3, (4,), bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional stack also runs backward in time"):
        StepRunner(bi, _params(rng, bi, np.float64), 4, 2)
    cfg = RecurrentConfig("rnn", 3, (4, 2))
    params = _params(rng, cfg, np.float64)
    with pytest.raises(ValueError, match="n_steps must be at least 1"):
        StepRunner(cfg, params, 0, 2)
    with pytest.raises(ValueError, match="c0 is only for cells with a cell state"):
        StepRunner(cfg, params, 2, 2, c0=_states(rng, cfg, 2, np.float64))
    with pytest.raises(ValueError, match=r"h0\[1\] must have shape"):
        StepRunner(cfg, params, 2, 2, h0=[np.zeros((2, 4)), np.zeros((2, 4))])
    runner = StepRunner(cfg, params, 1, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(n_sequences, input_size\)"):
        runner.step(np.zeros((3, 2)))
    runner.step(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="started for 1 steps; all are taken"):
        runner.step(np.zeros((2, 3)))


# ------------------------------------------------------------------ the decoder
def _old_step(config, params, W, b, x, h, c, masks):
    """The decoder step before StepRunner: one ``forward`` over a length-1 input."""
    res = forward(config, params, x[None], np.ones(x.shape[0], dtype=np.intp), h0=h, c0=c,
                  dropout_masks=masks, keep_cache=False)
    y = res.top[0].T @ W.T
    y += b
    return y, res.h_n, res.c_n


def _old_decode(config, params, W, b, h0, c0, horizon):
    n, m = h0[0].shape[0], W.shape[0]
    out = np.empty((n, horizon, m), dtype=W.dtype)
    x = np.zeros((n, m), dtype=W.dtype)
    h, c = h0, c0
    for k in range(horizon):
        x, h, c = _old_step(config, params, W, b, x, h, c, None)
        out[:, k] = x
    return out


def _old_sampled_inputs(config, params, W, b, h0, c0, Y, teacher_prob, rng,
                        dropout_masks=None):
    n, H, m = Y.shape
    inputs = np.zeros((H, n, m), dtype=Y.dtype)
    teacher = rng.random((H, n)) < teacher_prob
    h, c = h0, c0
    for k in range(H - 1):
        masks = (None if dropout_masks is None
                 else [None if a is None else a[k: k + 1] for a in dropout_masks])
        pred, h, c = _old_step(config, params, W, b, inputs[k], h, c, masks)
        inputs[k + 1] = np.where(teacher[k + 1][:, None], Y[:, k], pred)
    return inputs


def _decoder_problem(rng, options, n_layers, dtype, m=2, n=7):
    cfg = RecurrentConfig(input_size=m, hidden_sizes=SIZES[n_layers], **options)
    params = _params(rng, cfg, dtype)
    W = rng.standard_normal((m, cfg.output_size)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    h0 = _states(rng, cfg, n, dtype)
    c0 = _states(rng, cfg, n, dtype) if cfg.cell_of(0).has_cell_state else None
    return cfg, params, W, b, h0, c0


@pytest.mark.parametrize("options", DECODER_OPTIONS)
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_decode_equals_the_per_step_forward_loop(rng, options, n_layers, dtype):
    cfg, params, W, b, h0, c0 = _decoder_problem(rng, options, n_layers, dtype)
    new = decode(cfg, params, W, b, h0, c0, 5)
    old = _old_decode(cfg, params, W, b, h0, c0, 5)
    assert new.shape == (7, 5, 2) and new.dtype == dtype
    np.testing.assert_allclose(new, old, **_tol(dtype))
    # A horizon of one step.
    np.testing.assert_allclose(decode(cfg, params, W, b, h0, c0, 1), old[:, :1],
                               **_tol(dtype))


@pytest.mark.parametrize("options", DECODER_OPTIONS)
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_sampled_inputs_equal_the_per_step_forward_loop(rng, options, n_layers, dropout,
                                                        dtype):
    cfg, params, W, b, h0, c0 = _decoder_problem(rng, options, n_layers, dtype)
    H, n, m = 5, 7, 2
    Y = rng.standard_normal((n, H, m)).astype(dtype)
    masks = _dropout(rng, cfg, H, n, dtype) if dropout else None
    assert (masks is not None) == (dropout and n_layers > 1)
    new = sampled_inputs(cfg, params, W, b, h0, c0, Y, 0.5, np.random.default_rng(3), masks)
    old = _old_sampled_inputs(cfg, params, W, b, h0, c0, Y, 0.5, np.random.default_rng(3),
                              masks)
    assert new.shape == (H, n, m) and new.dtype == dtype
    np.testing.assert_allclose(new, old, **_tol(dtype))
    # Both sources appear, so the comparison covers the predictions fed back.
    teacher = np.isin(new[1:], Y.transpose(1, 0, 2)[:-1])
    assert teacher.any() and not teacher.all()
    # A horizon of one step has no input to sample.
    one = sampled_inputs(cfg, params, W, b, h0, c0, Y[:, :1], 0.5, np.random.default_rng(3))
    np.testing.assert_array_equal(one, np.zeros((1, n, m)))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_predict_equals_the_per_step_forward_loop(rng, cell):
    """End to end: a fitted bidirectional, stacked encoder-decoder's predictions."""
    X = rng.standard_normal((9, 6, 3))
    y = rng.standard_normal((9, 4, 2))
    est = Seq2SeqRegressor(cell=cell, hidden_layer_sizes=(3, 5), bidirectional=True,
                           max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    enc = forward(est._config, est.weights_, X.transpose(1, 0, 2), np.full(9, 6),
                  keep_cache=False)
    old = _old_decode(est._decoder_config, decoder_params(est.weights_),
                      est.weights_["output.weight"], est.weights_["output.bias"],
                      bridge_states(est._config, enc.h_n), bridge_states(est._config, enc.c_n),
                      4)
    np.testing.assert_allclose(est.predict(X), old, rtol=0, atol=1e-12)
