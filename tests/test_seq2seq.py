"""Seq2SeqRegressor: shapes, gradients (finite differences and PyTorch), learning, the
training options, scikit-learn composition and errors."""

import doctest
import warnings

import numpy as np
import pytest
from finite_differences import numeric_grads
from fitting_support import quiet_fit
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skrnn import Seq2SeqRegressor
from skrnn._bptt import RecurrentConfig, forward
from skrnn._decoder import (
    bridge_states,
    decode,
    decoder_config,
    decoder_params,
    sampled_inputs,
    teacher_inputs,
)
from skrnn._losses import squared_error
from skrnn._sequences import check_sequences
from skrnn.preprocessing import SequenceScaler, make_windows

CELL_OPTIONS = [
    pytest.param(dict(cell="rnn"), id="rnn"),
    pytest.param(dict(cell="lstm"), id="lstm"),
    pytest.param(dict(cell="gru", reset_after=True), id="gru-after"),
    pytest.param(dict(cell="gru", reset_after=False), id="gru-before"),
    pytest.param(dict(cell="clockwork", clock_periods=(1, 2)), id="clockwork"),
]


def _ragged(rng, n=6, d=3, lengths=(5, 3, 1, 4, 2, 5)):
    return [rng.standard_normal((L, d)) for L in lengths[:n]]


def _generic(est, rng):
    """Perturb the fitted weights away from the init's special values."""
    for v in est.weights_.values():
        v += 0.3 * rng.standard_normal(v.shape)


def _batch_problem(rng, H=3, m=2, d=3, lengths=(5, 3, 1, 4, 2, 5), **options):
    X = _ragged(rng, len(lengths), d, lengths)
    y = rng.standard_normal((len(X), H, m))
    est = quiet_fit(Seq2SeqRegressor(max_iter=1, random_state=0, **options), X, y)
    _generic(est, rng)
    batch = check_sequences(X, dtype=np.float64)
    targets = y.reshape(len(X), H * m)
    sw = rng.uniform(0.5, 2.0, len(X))
    return est, batch, targets, sw


# ------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("form", ["3d", "ragged", "2d"])
@pytest.mark.parametrize("y_shape", [(), (1,), (4,), (4, 2)], ids=["1d", "H1", "H4", "H4m2"])
def test_predict_has_the_shape_of_y(rng, form, y_shape):
    n = 12
    if form == "3d":
        X = rng.standard_normal((n, 5, 2))
    elif form == "ragged":
        X = [rng.standard_normal((int(L), 2)) for L in rng.integers(1, 7, n)]
    else:
        X = rng.standard_normal((n, 2))
    y = rng.standard_normal((n,) + y_shape)
    est = quiet_fit(Seq2SeqRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
                    X, y)
    assert est.horizon_ == (y_shape[0] if y_shape else 1)
    assert est.n_outputs_ == (y_shape[1] if len(y_shape) == 2 else 1)
    pred = est.predict(X)
    assert pred.shape == y.shape
    assert np.isfinite(est.score(X, y))


def test_weights_hold_encoder_decoder_and_head(rng):
    X, y = rng.standard_normal((10, 4, 3)), rng.standard_normal((10, 3, 2))
    est = quiet_fit(Seq2SeqRegressor(hidden_layer_sizes=(5, 4), bidirectional=True,
                                     max_iter=1, random_state=0), X, y)
    w = est.weights_
    assert w["weight_ih_l0"].shape == (20, 3) and "weight_hh_l1_reverse" in w
    # Decoder: unidirectional, layer k as wide as the encoder's layer-k output.
    assert w["decoder.weight_ih_l0"].shape == (40, 2)
    assert w["decoder.weight_hh_l0"].shape == (40, 10)
    assert w["decoder.weight_ih_l1"].shape == (32, 10)
    assert "decoder.weight_ih_l0_reverse" not in w
    assert w["output.weight"].shape == (2, 8)


# ------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("arch", [dict(hidden_layer_sizes=(3,)),
                                  dict(hidden_layer_sizes=(2, 2), bidirectional=True, m=1,
                                       d=2, lengths=(4, 2, 1, 3))],
                         ids=["1-layer", "stacked-bi"])
def test_gradients_match_finite_differences(rng, options, arch):
    if options["cell"] == "clockwork":  # two modules of equal size per layer
        arch = {**arch, "hidden_layer_sizes": tuple(2 * -(-h // 2)
                                                    for h in arch["hidden_layer_sizes"])}
    est, batch, targets, sw = _batch_problem(rng, **options, **arch)
    weights = est.weights_

    def objective():  # the loss, written out from the forward passes only
        cfg = est._config
        enc = forward(cfg, weights, batch.X, batch.lengths, keep_cache=False)
        n, H = len(sw), est.horizon_
        inputs = teacher_inputs(targets.reshape(n, H, -1))
        dec = forward(est._decoder_config, decoder_params(weights), inputs,
                      np.full(n, H), h0=bridge_states(cfg, enc.h_n),
                      c0=bridge_states(cfg, enc.c_n), keep_cache=False)
        Z = dec.top.transpose(2, 0, 1) @ weights["output.weight"].T + weights["output.bias"]
        return squared_error(Z.reshape(n, -1), targets, sw)[0]

    loss, grads, wsum = est._loss_grad(weights, batch.X, batch.lengths, targets, sw)
    assert wsum == pytest.approx(sw.sum())
    assert list(grads) == list(weights)
    num = numeric_grads(objective, weights)
    for k in weights:
        np.testing.assert_allclose(grads[k], num[k], atol=1e-7, rtol=1e-5, err_msg=k)


def test_scheduled_sampling_inputs(rng):
    """Ratio 1: the teacher inputs. Ratio 0: the model's own predictions, i.e. free
    running, the same values as autoregressive decoding."""
    est, batch, targets, _ = _batch_problem(rng, H=4, m=2, hidden_layer_sizes=(3,))
    enc = forward(est._config, est.weights_, batch.X, batch.lengths, keep_cache=False)
    h0, c0 = bridge_states(est._config, enc.h_n), bridge_states(est._config, enc.c_n)
    dcfg, dp = est._decoder_config, decoder_params(est.weights_)
    W, b = est.weights_["output.weight"], est.weights_["output.bias"]
    Y = targets.reshape(-1, 4, 2)
    ones = sampled_inputs(dcfg, dp, W, b, h0, c0, Y, 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(ones, teacher_inputs(Y))
    zeros = sampled_inputs(dcfg, dp, W, b, h0, c0, Y, 0.0, np.random.default_rng(0))
    free = decode(dcfg, dp, W, b, h0, c0, 4)
    np.testing.assert_allclose(zeros[1:], free[:, :-1].transpose(1, 0, 2), atol=1e-12)
    # predict is that autoregressive decoding.
    np.testing.assert_allclose(est._head_outputs(batch).reshape(-1, 4, 2), free,
                               atol=1e-12)


@pytest.mark.parametrize("options", CELL_OPTIONS)
def test_decoding_is_the_teacher_forced_decoder_on_its_own_predictions(rng, options):
    # The contract of autoregressive prediction, for every cell: the decoder run over
    # [0, y_0, ..., y_{H-2}] by forward (as in training) gives back y_0 .. y_{H-1}. For the
    # clockwork cell this also says that its modules tick by the decoder's own step.
    H = 5
    est, batch, _, _ = _batch_problem(rng, H=H, m=2, hidden_layer_sizes=(4,), **options)
    enc = forward(est._config, est.weights_, batch.X, batch.lengths, keep_cache=False)
    h0, c0 = bridge_states(est._config, enc.h_n), bridge_states(est._config, enc.c_n)
    dcfg, dp = est._decoder_config, decoder_params(est.weights_)
    W, b = est.weights_["output.weight"], est.weights_["output.bias"]
    Y = decode(dcfg, dp, W, b, h0, c0, H)
    n = Y.shape[0]
    dec = forward(dcfg, dp, teacher_inputs(Y), np.full(n, H), h0=h0, c0=c0,
                  keep_cache=False)
    np.testing.assert_allclose(dec.top.transpose(2, 0, 1) @ W.T + b, Y, atol=1e-12)


def test_clockwork_encoder_decoder_learns_a_forecast():
    series = np.sin(0.3 * np.arange(400))
    X, y = make_windows(series, window=16, horizon=range(1, 4))
    reg = Seq2SeqRegressor(cell="clockwork", hidden_layer_sizes=(16,), clock_periods=(1, 2),
                           learning_rate_init=0.01, max_iter=40, random_state=0)
    reg = quiet_fit(reg, X[:300], y[:300])
    assert reg._decoder_config.clock_periods == (1, 2)
    assert reg.score(X[300:], y[300:]) > 0.9


def test_decoder_config_bridges_a_bidirectional_encoder():
    enc = RecurrentConfig("gru", 3, (4, 2), bidirectional=True, reset_after=False)
    dec = decoder_config(enc, 5)
    assert dec.hidden_sizes == (8, 4) and not dec.bidirectional and dec.input_size == 5
    assert dec.cell == "gru" and dec.reset_after is False


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradients_match_pytorch(rng, cell):
    """An nn.LSTM/nn.GRU encoder (stacked, bidirectional, packed ragged input) and a
    decoder started from the concatenated final states, teacher forced, with the same
    weights: the same loss and gradients."""
    torch = pytest.importorskip("torch")
    H, m, hidden = 3, 2, (4, 3)
    est, batch, targets, sw = _batch_problem(rng, H=H, m=m, cell=cell,
                                             hidden_layer_sizes=hidden, bidirectional=True)
    w = est.weights_
    loss, grads, _ = est._loss_grad(w, batch.X, batch.lengths, targets, sw)

    Module = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    tw = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    x = torch.tensor(batch.X)
    lengths = torch.tensor(batch.lengths)
    states = []  # per layer: (h, c) concatenated over directions
    for k, h in enumerate(hidden):
        mod = Module(x.shape[2], h, bidirectional=True, dtype=torch.float64)
        params = {f"{p}_l0{s}": tw[f"{p}_l{k}{s}"] for p in
                  ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for s in ("", "_reverse")}
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, hn = torch.func.functional_call(mod, params, (packed,))
        x, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=batch.X.shape[0])
        if cell == "lstm":
            states.append((torch.cat([hn[0][0], hn[0][1]], 1),
                           torch.cat([hn[1][0], hn[1][1]], 1)))
        else:
            states.append(torch.cat([hn[0], hn[1]], 1))
    Y = torch.tensor(targets.reshape(-1, H, m))
    inp = torch.cat([torch.zeros(1, Y.shape[0], m, dtype=torch.float64),
                     Y[:, :-1].transpose(0, 1)], 0)
    for k, h in enumerate(hidden):
        mod = Module(inp.shape[2], 2 * h, dtype=torch.float64)
        params = {f"{p}_l0": tw[f"decoder.{p}_l{k}"] for p in
                  ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        hx = ((states[k][0][None], states[k][1][None]) if cell == "lstm"
              else states[k][None])
        inp, _ = torch.func.functional_call(mod, params, (inp, hx))
    Z = inp @ tw["output.weight"].T + tw["output.bias"]  # (H, n, m)
    diff = Z.transpose(0, 1).reshape(Y.shape[0], -1) - torch.tensor(targets)
    swt = torch.tensor(sw)
    t_loss = 0.5 * (swt / (swt.sum() * H * m) * (diff ** 2).sum(1)).sum()
    t_loss.backward()
    assert loss == pytest.approx(float(t_loss), rel=1e-10)
    for k in w:
        np.testing.assert_allclose(grads[k], tw[k].grad.numpy(), atol=1e-10, err_msg=k)


# ------------------------------------------------------------------------ learning
def _sine_windows(n_steps=700, H=5, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)
    series = np.sin(0.25 * t) + 0.5 * np.sin(0.05 * t) + noise * rng.standard_normal(n_steps)
    return make_windows(series, window=16, horizon=range(1, H + 1))


def test_learns_a_five_step_forecast():
    X, y = _sine_windows()
    split = 500
    est = Seq2SeqRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40,
                           random_state=0)
    quiet_fit(est, X[:split], y[:split])
    assert est.score(X[split:], y[split:]) > 0.9


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_teacher_forcing_and_scheduled_sampling_both_train(ratio):
    X, y = _sine_windows(n_steps=400)
    est = Seq2SeqRegressor(hidden_layer_sizes=(12,), cell="gru", learning_rate_init=0.01,
                           max_iter=25, teacher_forcing_ratio=ratio, random_state=0)
    quiet_fit(est, X[:300], y[:300])
    assert est.loss_curve_[-1] < 0.2 * est.loss_curve_[0]
    assert est.score(X[300:], y[300:]) > 0.8


def test_training_options_work_unchanged(rng):
    X, y = _sine_windows(n_steps=200, H=3)
    kw = dict(hidden_layer_sizes=(6, 6), max_iter=3, random_state=0)
    for extra in [dict(solver="lbfgs"), dict(solver="sgd"), dict(dropout=0.2),
                  dict(early_stopping=True, validation_split="tail"),
                  dict(clip_norm=1.0, bptt_truncate=4), dict(dtype="float32"),
                  dict(teacher_forcing_ratio=0.3, dropout=0.1, bidirectional=True)]:
        est = quiet_fit(Seq2SeqRegressor(**kw, **extra), X, y,
                        sample_weight=rng.uniform(0.5, 1.5, len(X)))
        pred = est.predict(X)
        assert pred.shape == y.shape and np.all(np.isfinite(pred))
        if "dtype" in extra:
            assert pred.dtype == np.float32
    est = Seq2SeqRegressor(**kw, early_stopping=True)
    quiet_fit(est, X, y)
    assert len(est.validation_scores_) == est.n_iter_


def test_same_random_state_same_fit_and_scheduled_sampling_is_seeded():
    X, y = _sine_windows(n_steps=150, H=3)
    fits = [quiet_fit(Seq2SeqRegressor(hidden_layer_sizes=(4,), max_iter=2,
                                       teacher_forcing_ratio=0.5, random_state=1), X, y)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))


def test_partial_fit_and_warm_start(rng):
    X, y = _sine_windows(n_steps=150, H=3)
    est = Seq2SeqRegressor(hidden_layer_sizes=(4,), random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    assert len(est.loss_curve_) == 3
    with pytest.raises(ValueError, match="partial_fit cannot change the horizon"):
        est.partial_fit(X, y[:, :2])
    # A warm-started fit may change H: the weights do not depend on it.
    est.set_params(warm_start=True, max_iter=2)
    before = est.get_weights()
    quiet_fit(est, X, y[:, :2])
    assert est.horizon_ == 2 and est.predict(X).shape == (len(X), 2)
    assert set(before) == set(est.weights_)


def test_prediction_in_chunks_equals_one_batch(rng):
    """Over 1024 sequences prediction runs in chunks; each sequence's forecast is its own."""
    X = [rng.standard_normal((int(L), 2)) for L in rng.integers(1, 5, 1100)]
    est = quiet_fit(Seq2SeqRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0),
                    X[:50], rng.standard_normal((50, 4)))
    full = est.predict(X)
    parts = np.concatenate([est.predict(X[:7]), est.predict(X[7:600]), est.predict(X[600:])])
    np.testing.assert_allclose(full, parts, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ composition
def test_pipeline_grid_search_on_ragged_x(rng):
    t = np.arange(600)
    series = np.sin(0.3 * t) + 0.05 * rng.standard_normal(600)
    starts = rng.integers(0, 560, 60)
    lens = rng.integers(8, 20, 60)
    X = [series[s: s + L, None] for s, L in zip(starts, lens)]
    y = np.stack([series[s + L: s + L + 3] for s, L in zip(starts, lens)])
    pipe = make_pipeline(SequenceScaler(),
                         Seq2SeqRegressor(hidden_layer_sizes=(6,), learning_rate_init=0.01,
                                          max_iter=5, random_state=0))
    grid = GridSearchCV(pipe, {"seq2seqregressor__cell": ["gru", "lstm"]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.predict(X[:4]).shape == (4, 3)


# ------------------------------------------------------------------------ errors
def test_errors(rng):
    X = rng.standard_normal((8, 4, 2))
    est = Seq2SeqRegressor(hidden_layer_sizes=(4,), max_iter=1)
    y = rng.standard_normal((8, 3))
    bad = y.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X, bad)
    with pytest.raises(ValueError, match="4 dimensions"):
        est.fit(X, rng.standard_normal((8, 3, 1, 1)))
    with pytest.raises(ValueError, match="8 sequences but y has 7"):
        est.fit(X, y[:7])
    with pytest.raises(ValueError, match="no target values"):
        est.fit(X, np.empty((8, 0, 1)))
    with pytest.raises(ValueError, match="0 feature"):
        est.fit(X, np.empty((8, 0)))
    with pytest.raises(ValueError, match="lbfgs"):
        Seq2SeqRegressor(solver="lbfgs", teacher_forcing_ratio=0.5).fit(X, y)
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        Seq2SeqRegressor(teacher_forcing_ratio=1.5).fit(X, y)
    fitted = quiet_fit(Seq2SeqRegressor(hidden_layer_sizes=(4,), max_iter=1), X, y)
    with pytest.raises(ValueError, match="shape"):
        fitted.score(X, y[:, :2])


def test_docstring_example_holds():
    runner = doctest.DocTestRunner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for test in doctest.DocTestFinder().find(Seq2SeqRegressor, globs={}):
            runner.run(test)
    assert runner.tries > 0 and runner.failures == 0
