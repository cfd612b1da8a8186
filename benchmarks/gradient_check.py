"""Measure how exact the BPTT core is: the largest finite-difference gradient error per cell
and option, and the largest difference from PyTorch given the same weights.

Run: ``python benchmarks/gradient_check.py`` (PyTorch part only when torch is installed).
Prints a markdown table; the tests in ``tests/test_bptt_*.py`` assert the same quantities.
"""

import numpy as np

from skrnn._bptt import RecurrentConfig, backward, forward, init_params

OPTIONS = {
    "rnn tanh": dict(cell="rnn"),
    "rnn relu": dict(cell="rnn", activation="relu"),
    "lstm": dict(cell="lstm"),
    "lstm hard_sigmoid": dict(cell="lstm", recurrent_activation="hard_sigmoid"),
    "gru reset after": dict(cell="gru"),
    "gru reset before": dict(cell="gru", reset_after=False),
    "clockwork (1, 2, 4)": dict(cell="clockwork", clock_periods=(1, 2, 4)),
}


def _problem(rng, options, bidirectional):
    hidden = (6, 3) if options["cell"] == "clockwork" else (4, 3)
    cfg = RecurrentConfig(input_size=3, hidden_sizes=hidden, bidirectional=bidirectional,
                          **options)
    params = {k: v + 0.3 * rng.standard_normal(v.shape)
              for k, v in init_params(cfg, rng).items()}
    lengths = np.array([6, 3, 1, 5])
    X = rng.standard_normal((6, 4, 3)) * (np.arange(6)[:, None] < lengths)[:, :, None]
    G_out = rng.standard_normal((6, 4, cfg.output_size))
    G_out *= (np.arange(6)[:, None] < lengths)[:, :, None]
    G_fin = rng.standard_normal((4, cfg.output_size))
    return cfg, params, X, lengths, G_out, G_fin


def finite_difference_error(options, bidirectional, seed=0, eps=1e-6):
    """Largest |analytic - numeric| / (|numeric| + 1) over every parameter entry."""
    rng = np.random.default_rng(seed)
    cfg, params, X, lengths, G_out, G_fin = _problem(rng, options, bidirectional)

    def objective():
        res = forward(cfg, params, X, lengths, keep_cache=False)
        return float(np.sum(res.outputs * G_out) + np.sum(res.final_states * G_fin))

    res = forward(cfg, params, X, lengths)
    grads = backward(cfg, params, res.cache, d_outputs=G_out, d_final=G_fin)
    worst = 0.0
    for name, p in params.items():
        flat, g = p.reshape(-1), grads[name].reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = objective()
            flat[i] = old - eps
            down = objective()
            flat[i] = old
            num = (up - down) / (2 * eps)
            worst = max(worst, abs(g[i] - num) / (abs(num) + 1))
    return worst


def torch_difference(cell, bidirectional, seed=0):
    """Largest absolute difference from torch.nn.{RNN,LSTM,GRU}: outputs, h_n, gradients."""
    import torch

    rng = np.random.default_rng(seed)
    lengths = np.array([7, 2, 5, 1, 7])
    T, n, d, h = 7, 5, 4, 6
    cfg = RecurrentConfig(cell, d, (h, h), bidirectional=bidirectional)
    params = {k: v + 0.2 * rng.standard_normal(v.shape)
              for k, v in init_params(cfg, rng).items()}
    X = rng.standard_normal((T, n, d)) * (np.arange(T)[:, None] < lengths)[:, :, None]
    module = getattr(torch.nn, cell.upper())(d, h, num_layers=2, bidirectional=bidirectional,
                                             dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(params[name]))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(X), torch.tensor(lengths),
                                                     enforce_sorted=False)
    out, hn = module(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    hn = hn[0] if isinstance(hn, tuple) else hn
    ours = forward(cfg, params, X, lengths)
    real = np.arange(T)[:, None] < lengths
    G_out = rng.standard_normal(ours.outputs.shape) * real[:, :, None]
    G_fin = rng.standard_normal(ours.final_states.shape)
    D = cfg.n_directions
    top = torch.cat(list(hn[-D:]), dim=1)
    ((out * torch.tensor(G_out)).sum() + (top * torch.tensor(G_fin)).sum()).backward()
    grads = backward(cfg, params, ours.cache, d_outputs=G_out, d_final=G_fin)
    diff = np.abs(ours.outputs[real] - out.detach().numpy()[real]).max()
    diff = max(diff, max(np.abs(a - b.detach().numpy()).max() for a, b in zip(ours.h_n, hn)))
    for name, p in module.named_parameters():
        diff = max(diff, np.abs(grads[name] - p.grad.numpy()).max())
    return float(diff)


def main():
    print("| cell / option | direction | max FD error (float64) |")
    print("| --- | --- | --- |")
    for label, options in OPTIONS.items():
        for bi in (False, True):
            err = finite_difference_error(options, bi)
            print(f"| {label} | {'bi' if bi else 'uni'} | {err:.1e} |")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("\ntorch is not installed: PyTorch comparison skipped")
        return
    print("\n| cell | direction | max abs difference from PyTorch (outputs, h_n, grads) |")
    print("| --- | --- | --- |")
    for cell in ("rnn", "lstm", "gru"):
        for bi in (False, True):
            print(f"| {cell} | {'bi' if bi else 'uni'} | {torch_difference(cell, bi):.1e} |")


if __name__ == "__main__":
    main()
