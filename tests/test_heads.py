"""The output heads read the core's layout and give the same rows and gradients as the
batch layout would, checked against finite differences."""

import numpy as np
import pytest
from finite_differences import assert_gradients_match_finite_differences

from skrnn._bptt import RecurrentConfig, backward, forward, init_params
from skrnn._heads import FinalStateHead, StepHead


def _setup(rng, bidirectional):
    cfg = RecurrentConfig("gru", 3, (4,), bidirectional=bidirectional)
    params = init_params(cfg, rng)
    lengths = np.array([5, 2, 4])
    T, n = 5, 3
    X = rng.standard_normal((T, n, 3))
    mask = np.arange(T)[:, None] < lengths[None, :]
    X[~mask] = 0
    W = rng.standard_normal((2, cfg.output_size))
    b = rng.standard_normal(2)
    return cfg, params, X, lengths, mask, W, b


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_step_head_rows_are_the_real_steps_in_mask_order(rng, bidirectional):
    cfg, params, X, lengths, mask, W, b = _setup(rng, bidirectional)
    res = forward(cfg, params, X, lengths, keep_cache=False)
    Z = StepHead().forward(W, b, res, mask)
    np.testing.assert_allclose(Z, res.outputs[mask] @ W.T + b, rtol=0, atol=1e-13)
    np.testing.assert_allclose(StepHead().predict(W, b, res)[mask], Z, rtol=0, atol=1e-13)
    F = FinalStateHead().forward(W, b, res)
    np.testing.assert_allclose(F, res.final_states @ W.T + b, rtol=0, atol=1e-13)


@pytest.mark.parametrize("head", [StepHead(), FinalStateHead()], ids=["step", "final"])
def test_head_gradients_match_finite_differences(rng, head):
    cfg, params, X, lengths, mask, W, b = _setup(rng, True)
    m = int(mask.sum()) if isinstance(head, StepHead) else len(lengths)
    G = rng.standard_normal((m, 2))
    all_params = dict(params, W=W, b=b)

    def objective():
        res = forward(cfg, params, X, lengths, keep_cache=False)
        return float(np.sum(head.forward(all_params["W"], all_params["b"], res, mask) * G))

    res = forward(cfg, params, X, lengths)
    dW, db, core_grad = head.backward(W, G, res, mask)
    grads = dict(backward(cfg, params, res.cache, **core_grad), W=dW, b=db)
    assert_gradients_match_finite_differences(objective, all_params, grads)


