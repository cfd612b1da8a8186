"""The BPTT core against PyTorch's nn.RNN / nn.LSTM / nn.GRU given the same weights.

Skipped when torch is not installed (``pip install torch==2.13.0``); CI installs it.
"""

import numpy as np
import pytest

from skrnn._bptt import RecurrentConfig, backward, forward, init_params

torch = pytest.importorskip("torch")

MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
CASES = [
    pytest.param("rnn", "tanh", id="rnn-tanh"),
    pytest.param("rnn", "relu", id="rnn-relu"),
    pytest.param("lstm", "tanh", id="lstm"),
    pytest.param("gru", "tanh", id="gru"),
]


def _torch_layer(cell, activation, d, h, num_layers, bidirectional):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, dtype=torch.float64)
    if cell == "rnn":
        kwargs["nonlinearity"] = activation
    return getattr(torch.nn, MODULES[cell])(d, h, **kwargs)


def _run_torch(modules, X, lengths):
    """Chain single modules (one per group of layers) over a packed ragged batch."""
    x = torch.tensor(X, requires_grad=False)
    h_n = []
    for m in modules:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, torch.tensor(lengths), enforce_sorted=False)
        out, hn = m(packed)
        x, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=X.shape[0])
        h_n.extend(list(hn[0] if isinstance(hn, tuple) else hn))
    return x, h_n


def _compare(cell, activation, hidden, bidirectional, rng, shared_stack):
    d, lengths = 5, np.array([6, 2, 4, 1, 6, 3])
    T, n = int(lengths.max()), len(lengths)
    cfg = RecurrentConfig(cell, d, hidden, bidirectional=bidirectional, activation=activation)
    params = init_params(cfg, rng)
    for name in params:
        params[name] += 0.2 * rng.standard_normal(params[name].shape)
    X = rng.standard_normal((T, n, d))
    X[np.arange(T)[:, None] >= lengths[None, :]] = 0
    D = cfg.n_directions
    if shared_stack:  # one torch module with num_layers (needs equal widths)
        modules = [_torch_layer(cell, activation, d, hidden[0], len(hidden), bidirectional)]
        names = [{name: name for name in params}]
    else:  # one module per layer, as get_weights() exports
        modules, names = [], []
        for k, h in enumerate(hidden):
            modules.append(_torch_layer(cell, activation, cfg.layer_input_size(k), h, 1,
                                        bidirectional))
            names.append({f"{w}_l0{s}": f"{w}_l{k}{s}" for w in
                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                          for s in cfg.suffixes()})
    with torch.no_grad():
        for m, mapping in zip(modules, names):
            for tname, p in m.named_parameters():
                p.copy_(torch.tensor(params[mapping[tname]]))
    out_t, hn_t = _run_torch(modules, X, lengths)
    ours = forward(cfg, params, X, lengths)

    real = np.arange(T)[:, None] < lengths[None, :]
    np.testing.assert_allclose(ours.outputs[real], out_t.detach().numpy()[real], atol=1e-10)
    for a, b in zip(ours.h_n, hn_t):
        np.testing.assert_allclose(a, b.detach().numpy(), atol=1e-10)

    G_out = rng.standard_normal(ours.outputs.shape) * real[:, :, None]
    G_fin = rng.standard_normal(ours.final_states.shape)
    top = torch.cat(list(hn_t[-D:]), dim=1)
    loss = (out_t * torch.tensor(G_out)).sum() + (top * torch.tensor(G_fin)).sum()
    loss.backward()
    grads = backward(cfg, params, ours.cache, d_outputs=G_out, d_final=G_fin)
    worst = 0.0
    for m, mapping in zip(modules, names):
        for tname, p in m.named_parameters():
            diff = np.abs(grads[mapping[tname]] - p.grad.numpy()).max()
            worst = max(worst, diff)
            np.testing.assert_allclose(grads[mapping[tname]], p.grad.numpy(), atol=1e-8,
                                       rtol=0, err_msg=f"{cell} {mapping[tname]}")
    return worst


@pytest.mark.parametrize("cell, activation", CASES)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_same_outputs_and_gradients_as_torch_stacked(rng, cell, activation, bidirectional):
    _compare(cell, activation, (4, 4), bidirectional, rng, shared_stack=True)


@pytest.mark.parametrize("cell, activation", CASES)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_same_as_torch_layers_of_different_widths(rng, cell, activation, bidirectional):
    _compare(cell, activation, (5, 3), bidirectional, rng, shared_stack=False)


def test_same_as_torch_on_equal_lengths_float32(rng):
    cfg = RecurrentConfig("lstm", 3, (8,))
    params = init_params(cfg, rng, dtype=np.float32)
    X = rng.standard_normal((7, 4, 3)).astype(np.float32)
    m = torch.nn.LSTM(3, 8)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    out, _ = m(torch.from_numpy(X))
    ours = forward(cfg, params, X, np.full(4, 7))
    assert ours.outputs.dtype == np.float32
    np.testing.assert_allclose(ours.outputs, out.detach().numpy(), atol=2e-6)
