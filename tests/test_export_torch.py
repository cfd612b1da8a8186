"""get_weights() exports PyTorch's names: one torch module per layer plus a Linear head
reproduce predict_proba / predict exactly. Skipped when torch is absent."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import LSTMRegressor, RNNClassifier

torch = pytest.importorskip("torch")

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _torch_forward(est, weights, X, lengths):
    """Run the exported weights through torch: one module per layer, then the head."""
    x = torch.tensor(np.ascontiguousarray(np.swapaxes(X, 0, 1)))  # (T, n, d)
    D = 2 if est.bidirectional else 1
    for k, h in enumerate(est._hidden_sizes()):
        d = x.shape[2]
        kw = {"nonlinearity": est.activation} if est.cell == "rnn" else {}
        m = MODULES[est.cell](d, h, bidirectional=est.bidirectional, dtype=torch.float64, **kw)
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(torch.tensor(weights[name.replace("_l0", f"_l{k}")]))
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths),
                                                         enforce_sorted=False)
        out, hn = m(packed)
        x, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=X.shape[1])
    hn = hn[0] if isinstance(hn, tuple) else hn
    rep = torch.cat(list(hn[-D:]), dim=1)
    head = torch.nn.Linear(rep.shape[1], weights["output.weight"].shape[0],
                           dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(weights["output.weight"]))
        head.bias.copy_(torch.tensor(weights["output.bias"]))
    return head(rep).detach().numpy()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_exported_weights_reproduce_predictions_in_torch(rng, cell, bidirectional):
    lengths = rng.integers(2, 7, size=30)
    X = [rng.standard_normal((L, 3)) for L in lengths]
    y = np.array([x[0, 0] > 0 for x in X])
    clf = RNNClassifier(cell=cell, hidden_layer_sizes=(5, 4), bidirectional=bidirectional,
                        max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    padded = np.zeros((30, lengths.max(), 3))
    for i, x in enumerate(X):
        padded[i, : len(x)] = x
    logits = _torch_forward(clf, clf.get_weights(), padded, lengths)
    proba = torch.softmax(torch.tensor(logits), dim=1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))

    reg = LSTMRegressor(cell=cell, hidden_layer_sizes=(4,), bidirectional=bidirectional,
                        max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, np.column_stack([lengths, -lengths]) / 7)
    out = _torch_forward(reg, reg.get_weights(), padded, lengths)
    np.testing.assert_allclose(out, reg.predict(X), atol=1e-12)
