"""The cell interface, the two initialisation schemes, and initial states in and out.

- A minimal gated unit defined here, outside the package, runs in the core through the
  same interface as the built-in cells and passes the finite-difference check.
- ``init="uniform"`` draws PyTorch's default in PyTorch's layout.
- Initial states ``h0``/``c0`` go into forward and their gradients come out of backward,
  checked by finite differences and against PyTorch's ``hx`` argument.
"""

import ast
import inspect

import numpy as np
import pytest
import scipy.stats
from cell_options import CELL_OPTIONS
from finite_differences import max_rel_error, numeric_grads

import skrnn._bptt
import skrnn._decoder
from skrnn._bptt import RecurrentConfig, backward, forward, init_params
from skrnn.cells import CELLS, BackwardState, Cell, Trace


# ------------------------------------------------------------------------ helpers
def _problem(rng, cfg, lengths=(5, 3, 1, 4)):
    params = init_params(cfg, rng)
    for name in params:  # generic weights, not the init's special values
        params[name] = params[name] + 0.3 * rng.standard_normal(params[name].shape)
    lengths = np.asarray(lengths)
    T, n = int(lengths.max()), len(lengths)
    pad = np.arange(T)[:, None] >= lengths[None, :]
    X = rng.standard_normal((T, n, cfg.input_size))
    X[pad] = 0
    G_out = rng.standard_normal((T, n, cfg.output_size))
    G_out[pad] = 0
    G_fin = rng.standard_normal((n, cfg.output_size))
    return params, X, lengths, G_out, G_fin


def _states(rng, cfg, n):
    D = cfg.n_directions
    return [rng.standard_normal((n, cfg.hidden_sizes[i // D]))
            for i in range(len(cfg.hidden_sizes) * D)]


# ------------------------------------------------------- a cell from outside the package
class MinimalGatedUnit(Cell):
    r"""Minimal gated unit (Zhou et al., 2016), written plainly for this test.

    .. math::
        f_t = \sigma(W_{if} x_t + b_f + W_{hf} h_{t-1}), \quad
        n_t = \tanh(W_{in} x_t + b_n + W_{hn} (f_t \odot h_{t-1})), \quad
        h_t = (1 - f_t) \odot h_{t-1} + f_t \odot n_t
    """

    n_gates = 2

    def start_forward(self, p, X, h0, c0, keep):
        T, _, n = X.shape
        h = self.hidden
        H = np.empty((T + 1, h, n))
        H[0] = 0 if h0 is None else h0
        tr = Trace(H, zero_start=h0 is None)
        tr.W_ih, tr.b = p["weight_ih"], (p["bias_ih"] + p["bias_hh"])[:, None]
        tr.A = tr.W_ih @ X + tr.b
        tr.gates = np.empty((T, 2 * h, n))
        tr.W_hh = p["weight_hh"]
        return tr

    def feed(self, tr, t, x):  # optional: for running a stack one step at a time
        tr.A[t] = tr.W_ih @ x + tr.b

    def step(self, tr, t):
        h = self.hidden
        hp, a = tr.H[t], tr.A[t]
        f = 1 / (1 + np.exp(-(a[:h] + tr.W_hh[:h] @ hp)))
        n = np.tanh(a[h:] + tr.W_hh[h:] @ (f * hp))
        tr.gates[t] = np.vstack([f, n])
        tr.H[t + 1] = (1 - f) * hp + f * n

    def start_backward(self, p, tr):
        bs = BackwardState()
        bs.W_ih, bs.W_hh = p["weight_ih"], p["weight_hh"]
        bs.dW_ih = np.zeros_like(bs.W_ih)
        bs.dW_hh = np.zeros_like(bs.W_hh)
        bs.db = np.zeros(bs.W_ih.shape[0])
        return bs

    def backward_step(self, tr, bs, t, dh, dc):
        h = self.hidden
        f, n, hp = tr.gates[t, :h], tr.gates[t, h:], tr.H[t]
        dn = dh * f * (1 - n ** 2)
        d_fh = bs.W_hh[h:].T @ dn  # w.r.t. f * h_{t-1}
        df = (dh * (n - hp) + d_fh * hp) * f * (1 - f)
        bs.dz = np.vstack([df, dn])
        bs.fh = f * hp
        return dh * (1 - f) + d_fh * f + bs.W_hh[:h].T @ df, None

    def accumulate(self, tr, bs, t, x):
        h = self.hidden
        bs.dW_ih += bs.dz @ x.T
        bs.db += bs.dz.sum(axis=1)
        bs.dW_hh[:h] += bs.dz[:h] @ tr.H[t].T
        bs.dW_hh[h:] += bs.dz[h:] @ bs.fh.T

    def finish_backward(self, tr, bs):
        return {"weight_ih": bs.dW_ih, "weight_hh": bs.dW_hh, "bias_ih": bs.db,
                "bias_hh": bs.db.copy()}


def test_outside_cell_forward_is_the_written_recurrence(rng):
    cfg = RecurrentConfig(MinimalGatedUnit, 3, (4,))
    params, X, lengths, _, _ = _problem(rng, cfg)
    assert list(params) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert params["weight_ih_l0"].shape == (8, 3) and params["weight_hh_l0"].shape == (8, 4)
    res = forward(cfg, params, X, lengths)
    W, U = params["weight_ih_l0"], params["weight_hh_l0"]
    b = params["bias_ih_l0"] + params["bias_hh_l0"]
    for s, L in enumerate(lengths):  # one sequence at a time, no masking involved
        hs = np.zeros(4)
        for t in range(L):
            a = W @ X[t, s] + b
            f = 1 / (1 + np.exp(-(a[:4] + U[:4] @ hs)))
            hs = (1 - f) * hs + f * np.tanh(a[4:] + U[4:] @ (f * hs))
            np.testing.assert_allclose(res.outputs[t, s], hs, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.final_states[s], hs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_outside_cell_passes_the_finite_difference_check(rng, bidirectional):
    cfg = RecurrentConfig(MinimalGatedUnit, 3, (4, 3), bidirectional=bidirectional)
    params, X, lengths, G_out, G_fin = _problem(rng, cfg)
    h0 = _states(rng, cfg, len(lengths))

    def objective():
        res = forward(cfg, params, X, lengths, h0=h0, keep_cache=False)
        return float(np.sum(res.outputs * G_out) + np.sum(res.final_states * G_fin))

    res = forward(cfg, params, X, lengths, h0=h0)
    grads, dX, d_h0, _ = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin,
                                  need_input_grad=True, need_state_grad=True)
    assert max_rel_error(grads, numeric_grads(objective, params)) < 1e-6
    num_x = numeric_grads(objective, {"X": X})["X"]
    real = np.arange(X.shape[0])[:, None] < lengths[None, :]
    np.testing.assert_allclose(dX[real], num_x[real], atol=1e-6)
    num_h0 = numeric_grads(objective, dict(enumerate(h0)))
    for i in range(len(h0)):
        np.testing.assert_allclose(d_h0[i], num_h0[i], atol=1e-6)


@pytest.mark.parametrize("module", [skrnn._bptt, skrnn._decoder], ids=["core", "decoder"])
def test_the_core_loops_never_name_a_cell(module):
    # String constants in the core's code (docstrings aside) must not be cell names.
    tree = ast.parse(inspect.getsource(module))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    names = set(CELLS) | {"gru_reset_before"}
    found = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and id(node) not in docstrings
             and isinstance(node.value, str) and node.value in names]
    assert found == []


def test_unknown_cell_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown cell 'mgu'"):
        RecurrentConfig("mgu", 3, (4,)).param_shapes()
    with pytest.raises(TypeError, match="subclass of skrnn.cells.Cell"):
        RecurrentConfig(object, 3, (4,)).param_shapes()


# ------------------------------------------------------------------ initialisation
def test_orthogonal_is_the_default_and_unchanged(rng):
    cfg = RecurrentConfig("lstm", 3, (5,))
    p = init_params(cfg, np.random.default_rng(1))
    assert all(np.array_equal(v, w) for v, w in
               zip(p.values(), init_params(cfg, np.random.default_rng(1),
                                           init="orthogonal").values()))
    for g in range(4):  # each recurrent gate block is orthogonal
        block = p["weight_hh_l0"][5 * g: 5 * (g + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(5), atol=1e-12)
    assert np.all(p["bias_ih_l0"][5:10] == 1) and np.all(p["bias_hh_l0"] == 0)
    with pytest.raises(ValueError, match="init must be"):
        init_params(cfg, rng, init="xavier")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_uniform_init_is_pytorchs_default_in_pytorchs_layout(rng, cell):
    torch = pytest.importorskip("torch")
    hidden = 16
    cfg = RecurrentConfig(cell, 3, (hidden, hidden), bidirectional=True)
    params = init_params(cfg, rng, dtype=np.float32, init="uniform")
    module = getattr(torch.nn, cell.upper())(3, hidden, num_layers=2, bidirectional=True)
    state = module.state_dict()
    assert list(params) == list(state)
    bound = 1 / np.sqrt(hidden)
    for name, p in params.items():
        assert p.shape == tuple(state[name].shape) and p.dtype == np.float32
        assert np.all(np.abs(p) <= bound), name
    # All values together are a uniform draw on the whole interval.
    values = np.concatenate([p.ravel() for p in params.values()])
    uniform = scipy.stats.uniform(-bound, 2 * bound)
    assert scipy.stats.kstest(values, uniform.cdf).pvalue > 1e-3
    assert values.max() > 0.99 * bound and values.min() < -0.99 * bound
    # No special values: the orthogonal scheme's LSTM forget-gate bias of 1 is not applied.
    assert np.all(np.abs(params["bias_ih_l0"]) < bound)


def test_uniform_init_keeps_the_clockwork_structure(rng):
    cfg = RecurrentConfig("clockwork", 2, (8,), clock_periods=(1, 2))
    p = init_params(cfg, rng, init="uniform")
    assert np.all(p["weight_hh_l0"][~cfg.recurrent_mask(0)] == 0)
    assert np.all(np.abs(p["weight_ih_l0"]) <= 1 / np.sqrt(8))


# ---------------------------------------------------- the gated cells' inference paths
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tanh_by_exp", [False, True], ids=["np-tanh", "tanh-by-exp"])
@pytest.mark.parametrize("options", [dict(cell="lstm"), dict(cell="gru", reset_after=True)],
                         ids=["lstm", "gru"])
def test_inference_equals_the_training_forward(rng, monkeypatch, options, dtype, tanh_by_exp):
    # Inference (keep_cache=False) has its own steps: sigmoid gates kept as 1 / sigma, and
    # a tanh through np.tanh or, on large steps, through exp. Both routes must equal the
    # training forward, also where the tanh saturates so that exp overflows.
    import skrnn.cells.base

    threshold = 0 if tanh_by_exp else 10**9
    monkeypatch.setattr(skrnn.cells.base, "TANH_BY_EXP_MIN_VALUES", threshold)
    cfg = RecurrentConfig(input_size=3, hidden_sizes=(6, 5), **options)
    lstm = cfg.cell_of(0).has_cell_state
    lengths = np.array([7, 3, 1, 7, 5])
    params, X, lengths, _, _ = _problem(rng, cfg, lengths)
    # Saturates the first sequence's gates and the GRU's candidate state (|a| > 355:
    # exp(-2a) overflows in float64 too).
    X[:, 0] *= 40 if lstm else 400
    if lstm:  # layer 0 keeps a huge cell state in two units (forget gate near 1)
        params["bias_hh_l0"][6:8] += 40
    params = {k: v.astype(dtype) for k, v in params.items()}
    X = X.astype(dtype)
    h0 = [s.astype(dtype) for s in _states(rng, cfg, len(lengths))]
    c0 = None
    if lstm:
        c0 = [s.astype(dtype) for s in _states(rng, cfg, len(lengths))]
        c0[0][:, :2] = [-1000, 1000]
    with np.errstate(over="raise"):  # the core itself must not let an overflow out
        fast = forward(cfg, params, X, lengths, h0=h0, c0=c0, keep_cache=False)
    ref = forward(cfg, params, X, lengths, h0=h0, c0=c0)
    if lstm:  # exp(-2c) overflowed there in both dtypes
        assert np.all(ref.c_n[0][:, 0] < -400)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fast.outputs, ref.outputs, rtol=0, atol=tol)
    for a, b in zip(fast.h_n + (fast.c_n or []), ref.h_n + (ref.c_n or [])):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------ initial states
@pytest.mark.parametrize("options", CELL_OPTIONS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_initial_state_gradients_match_finite_differences(rng, options, bidirectional):
    hidden = (4, 2) if options["cell"] == "clockwork" else (4, 3)
    cfg = RecurrentConfig(input_size=3, hidden_sizes=hidden, bidirectional=bidirectional,
                          **options)
    params, X, lengths, G_out, G_fin = _problem(rng, cfg)
    n = len(lengths)
    h0 = _states(rng, cfg, n)
    lstm = cfg.cell_of(0).has_cell_state
    c0 = _states(rng, cfg, n) if lstm else None

    def objective():
        res = forward(cfg, params, X, lengths, h0=h0, c0=c0, keep_cache=False)
        return float(np.sum(res.outputs * G_out) + np.sum(res.final_states * G_fin))

    res = forward(cfg, params, X, lengths, h0=h0, c0=c0)
    grads, d_h0, d_c0 = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin,
                                 need_state_grad=True)
    # The weights' gradients too: with a nonzero h0, step 0 adds to dW_hh.
    assert max_rel_error(grads, numeric_grads(objective, params)) < 1e-6
    num = numeric_grads(objective, dict(enumerate(h0)))
    for i in range(len(h0)):
        assert d_h0[i].shape == h0[i].shape
        np.testing.assert_allclose(d_h0[i], num[i], atol=1e-6)
    if lstm:
        num = numeric_grads(objective, dict(enumerate(c0)))
        for i in range(len(c0)):
            np.testing.assert_allclose(d_c0[i], num[i], atol=1e-6)
    else:
        assert d_c0 is None


def test_zero_initial_state_equals_no_initial_state(rng):
    cfg = RecurrentConfig("lstm", 3, (4, 3), bidirectional=True)
    params, X, lengths, G_out, G_fin = _problem(rng, cfg)
    zeros = [np.zeros_like(s) for s in _states(rng, cfg, len(lengths))]
    a = forward(cfg, params, X, lengths)
    b = forward(cfg, params, X, lengths, h0=zeros, c0=zeros)
    np.testing.assert_array_equal(a.outputs, b.outputs)
    ga = backward(cfg, params, a.cache, d_outputs=G_out, d_final=G_fin)
    gb = backward(cfg, params, b.cache, d_outputs=G_out, d_final=G_fin)
    for name in ga:
        np.testing.assert_allclose(ga[name], gb[name], rtol=0, atol=1e-13)


def test_final_state_gradients_of_every_layer(rng):
    # An encoder's h_n/c_n feed a decoder: their gradients enter backward as d_h_n/d_c_n.
    cfg = RecurrentConfig("lstm", 3, (4, 3), bidirectional=True)
    params, X, lengths, _, _ = _problem(rng, cfg)
    n = len(lengths)
    G_h, G_c = _states(rng, cfg, n), _states(rng, cfg, n)

    def objective():
        res = forward(cfg, params, X, lengths, keep_cache=False)
        return float(sum(np.sum(a * g) for a, g in zip(res.h_n, G_h))
                     + sum(np.sum(a * g) for a, g in zip(res.c_n, G_c)))

    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_h_n=G_h, d_c_n=G_c)
    assert max_rel_error(grads, numeric_grads(objective, params)) < 1e-6


def test_initial_states_are_validated(rng):
    cfg = RecurrentConfig("gru", 3, (4, 3))
    X = rng.standard_normal((5, 2, 3))
    with pytest.raises(ValueError, match="one state per layer and direction"):
        forward(cfg, init_params(cfg, rng), X, [5, 5], h0=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"h0\[1\] must have shape"):
        forward(cfg, init_params(cfg, rng), X, [5, 5], h0=[np.zeros((2, 4))] * 2)
    with pytest.raises(ValueError, match="c0 is only for cells with a cell state"):
        forward(cfg, init_params(cfg, rng), X, [5, 5],
                c0=[np.zeros((2, 4)), np.zeros((2, 3))])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_initial_states_same_as_torch_hx(rng, cell, bidirectional):
    torch = pytest.importorskip("torch")
    d, hidden, lengths = 5, (4, 4), np.array([6, 2, 4, 1, 6, 3])
    T, n = int(lengths.max()), len(lengths)
    cfg = RecurrentConfig(cell, d, hidden, bidirectional=bidirectional)
    params, X, _, _, _ = _problem(rng, cfg, lengths)
    D = cfg.n_directions
    h0 = rng.standard_normal((2 * D, n, 4))
    c0 = rng.standard_normal((2 * D, n, 4)) if cell == "lstm" else None
    module = getattr(torch.nn, cell.upper())(d, 4, num_layers=2, bidirectional=bidirectional,
                                             dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(params[name]))
    h0_t = torch.tensor(h0, requires_grad=True)
    c0_t = None if c0 is None else torch.tensor(c0, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(X), torch.tensor(lengths),
                                                     enforce_sorted=False)
    out_p, hn = module(packed, h0_t if c0 is None else (h0_t, c0_t))
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    hn_t = hn[0] if cell == "lstm" else hn

    ours = forward(cfg, params, X, lengths, h0=h0, c0=c0)
    real = np.arange(T)[:, None] < lengths[None, :]
    np.testing.assert_allclose(ours.outputs[real], out_t.detach().numpy()[real], atol=1e-10)
    np.testing.assert_allclose(np.stack(ours.h_n), hn_t.detach().numpy(), atol=1e-10)

    G_out = rng.standard_normal(ours.outputs.shape) * real[:, :, None]
    G_fin = rng.standard_normal(ours.final_states.shape)
    top = torch.cat(list(hn_t[-D:]), dim=1)
    ((out_t * torch.tensor(G_out)).sum() + (top * torch.tensor(G_fin)).sum()).backward()
    grads, d_h0, d_c0 = backward(cfg, params, ours.cache, d_outputs=G_out, d_final=G_fin,
                                 need_state_grad=True)
    np.testing.assert_allclose(np.stack(d_h0), h0_t.grad.numpy(), atol=1e-8, rtol=0)
    if c0 is not None:
        np.testing.assert_allclose(np.stack(d_c0), c0_t.grad.numpy(), atol=1e-8, rtol=0)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), atol=1e-8, rtol=0,
                                   err_msg=name)
