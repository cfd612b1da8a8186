"""Seq2SeqRegressor's autoregressive decoding: one ``forward`` per step against a StepRunner.

``predict`` runs the encoder over the input, then the decoder one step per horizon step,
feeding each prediction back. The old decoder called the core's ``forward`` once per step
on a length-1 input, redoing each step the per-batch work (every cell's
``start_forward``, the validation and transposes of the initial states); the new one
starts a :class:`~skrnn._bptt.StepRunner` once per call and feeds it step by step. This
script fits an estimator per cell (a few epochs; the weights do not matter for timing) on
20-step inputs with a horizon of 10, and times ``predict`` with either decoder (the old
one is defined here, as the tests' reference, and swapped in); then either decoder alone
from the encoder's final states, and the encoder alone, for the cost of a step.

Process CPU time, BLAS limited to one thread, every round runs the five timings in a
random order; medians [min-max] over the rounds, in ms. A decoder step is the decoder's
time over its 10 steps, an encoder step the encoder's over its 20 (its per-batch work
spread over them).

Run: ``python benchmarks/seq2seq_decode.py [--rounds 30]``.
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

import skrnn._seq2seq
from skrnn import Seq2SeqRegressor
from skrnn._bptt import forward
from skrnn._decoder import bridge_states, decoder_params

T_IN, HORIZON, HIDDEN = 20, 10, (32,)
CELLS = ("lstm", "gru", "rnn")
SIZES = (1, 400)
NEW_DECODE = skrnn._seq2seq.decode


def old_decode(config, params, W, b, h0, c0, horizon):
    """The decoder before StepRunner: one ``forward`` over a length-1 input per step."""
    n, m = h0[0].shape[0], W.shape[0]
    out = np.empty((n, horizon, m), dtype=W.dtype)
    x = np.zeros((n, m), dtype=W.dtype)
    h, c = h0, c0
    ones = np.ones(n, dtype=np.intp)
    for k in range(horizon):
        res = forward(config, params, x[None], ones, h0=h, c0=c, keep_cache=False)
        x = res.top[0].T @ W.T
        x += b
        h, c = res.h_n, res.c_n
        out[:, k] = x
    return out


def _fitted(cell, rng):
    X = rng.standard_normal((200, T_IN, 1))
    y = rng.standard_normal((200, HORIZON))
    est = Seq2SeqRegressor(cell=cell, hidden_layer_sizes=HIDDEN, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _timer(fn, number):
    def timed():
        start = time.process_time()
        for _ in range(number):
            fn()
        return (time.process_time() - start) / number * 1e3
    return timed


def _predict_with(est, X, decode):
    """``est.predict(X)`` with ``decode`` as the estimator's decoder."""
    skrnn._seq2seq.decode = decode
    try:
        return est.predict(X)
    finally:
        skrnn._seq2seq.decode = NEW_DECODE


def _fmt(v):
    v = np.asarray(v)
    return f"{np.median(v):.2f} [{v.min():.2f}-{v.max():.2f}]"


def _timings(est, X, number):
    """The five timed calls: ``predict`` with either decoder, either decoder alone from
    the encoder's states, and the encoder alone."""
    n = X.shape[0]
    Xt, lengths = np.ascontiguousarray(X.transpose(1, 0, 2)), np.full(n, T_IN)
    enc_cfg, dec_cfg = est._config, est._decoder_config
    enc = forward(enc_cfg, est.weights_, Xt, lengths, keep_cache=False)
    args = (dec_cfg, decoder_params(est.weights_), est.weights_["output.weight"],
            est.weights_["output.bias"], bridge_states(enc_cfg, enc.h_n),
            bridge_states(enc_cfg, enc.c_n), HORIZON)
    np.testing.assert_allclose(_predict_with(est, X, old_decode), est.predict(X), rtol=0,
                               atol=1e-12)
    fns = {
        "predict old": lambda: _predict_with(est, X, old_decode),
        "predict new": lambda: _predict_with(est, X, NEW_DECODE),
        "decode old": lambda: old_decode(*args),
        "decode new": lambda: NEW_DECODE(*args),
        "encoder": lambda: forward(enc_cfg, est.weights_, Xt, lengths, keep_cache=False),
    }
    return {k: _timer(f, number) for k, f in fns.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    blas = ", ".join(f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                     if i["user_api"] == "blas")
    print(f"`python benchmarks/seq2seq_decode.py --rounds {args.rounds}`; Python "
          f"{platform.python_version()}, NumPy {np.__version__}, BLAS {blas} (1 thread); "
          f"Seq2SeqRegressor(hidden_layer_sizes={HIDDEN}), float64, {T_IN} input steps, "
          f"horizon {HORIZON}; process CPU ms, median [min-max] over {args.rounds} "
          "interleaved rounds. Per step: the decoder alone over its steps, the encoder "
          "alone over its steps.\n")
    print("| cell | sequences | predict, old | predict, new | old / new "
          "| decoder step, old | decoder step, new | encoder step "
          "| decoder / encoder step, old | new |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with threadpool_limits(1, user_api="blas"):
        for cell in CELLS:
            est = _fitted(cell, rng)
            for n in SIZES:
                X = rng.standard_normal((n, T_IN, 1))
                fns = _timings(est, X, number=max(1, 40 // n))  # a few ms per timing
                for f in fns.values():
                    f()  # warm up
                res = {k: [] for k in fns}
                for _ in range(args.rounds):
                    for k in rng.permutation(list(fns)):
                        res[k].append(fns[k]())
                res = {k: np.array(v) for k, v in res.items()}
                old, new = res["predict old"], res["predict new"]
                step_old = res["decode old"] / HORIZON
                step_new = res["decode new"] / HORIZON
                step_enc = np.median(res["encoder"]) / T_IN
                print(f"| {cell} | {n} | {_fmt(old)} | {_fmt(new)} | "
                      f"{np.median(old) / np.median(new):.2f}x | {_fmt(step_old)} | "
                      f"{_fmt(step_new)} | {step_enc:.3f} | "
                      f"{np.median(step_old) / step_enc:.1f}x | "
                      f"{np.median(step_new) / step_enc:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
