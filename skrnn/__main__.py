"""``python -m skrnn``: train every estimator on bundled or generated data, print a table.

Each demo fits on a training split and scores on held-out data, with one BLAS thread; the
whole run takes well under a minute on two cores.
"""

import time
import warnings

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split


def _timed_fit(est, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Short demo runs stop before convergence; the ESN's tiny ridge penalty is
        # ill-conditioned on purpose (it is what reaches the best Mackey-Glass error).
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", LinAlgWarning)
        est.fit(X, y)
    return time.perf_counter() - start


def demo_classifier():
    from skrnn import RNNClassifier

    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0  # each image as 8 time steps of 8 pixels
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    est = RNNClassifier(cell="lstm", hidden_layer_sizes=(64,), learning_rate_init=0.01,
                        alpha=1e-3, batch_size=64, max_iter=40, random_state=0)
    seconds = _timed_fit(est, Xtr, ytr)
    return ("RNNClassifier(cell='lstm')", "digits, 8 steps x 8 pixels", "accuracy",
            est.score(Xte, yte), seconds)


def demo_regressor():
    from skrnn import LSTMRegressor
    from skrnn.datasets import make_adding_problem

    X, y = make_adding_problem(n_sequences=2500, n_timesteps=30, random_state=0)
    est = LSTMRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=64,
                        max_iter=25, random_state=0)
    seconds = _timed_fit(est, X[:2000], y[:2000])
    mse = float(np.mean((est.predict(X[2000:]) - y[2000:]) ** 2))
    return ("LSTMRegressor", "adding problem, T=30", "MSE (trivial 0.167)", mse, seconds)


def demo_tagger():
    from skrnn import GRUTagger

    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 3, size=int(rng.integers(5, 13))) for _ in range(600)]
    X = [np.eye(3)[s] for s in seqs]  # one-hot tokens, ragged lengths
    # The tag of a token is the token two steps earlier: the tagger must remember.
    y = [np.array(["none"] * 2 + [f"t{v}" for v in s[:-2]])[: len(s)] for s in seqs]
    est = GRUTagger(hidden_layer_sizes=(16,), learning_rate_init=0.02, batch_size=32,
                    max_iter=60, random_state=0)
    seconds = _timed_fit(est, X[:400], y[:400])
    return ("GRUTagger", "ragged tokens, tag = token at t-2", "token accuracy",
            est.score(X[400:], y[400:]), seconds)


def demo_step_regressor():
    from skrnn import GRUStepRegressor
    from skrnn.datasets import make_narma

    # 300 NARMA-10 series of 60 steps; the target at every step is the system's next
    # output, which depends on the last 10 inputs.
    pairs = [make_narma(61, random_state=seed) for seed in range(300)]
    X = [((u[:-1] - 0.25) / 0.144)[:, None] for u, _ in pairs]  # uniform [0, 0.5] scaled
    Y = [y[1:] for _, y in pairs]
    mean, std = np.concatenate(Y[:200]).mean(), np.concatenate(Y[:200]).std()
    Y = [(y - mean) / std for y in Y]
    est = GRUStepRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.02, batch_size=16,
                           max_iter=25, random_state=0)
    seconds = _timed_fit(est, X[:200], Y[:200])
    return ("GRUStepRegressor", "NARMA-10, output at every step", "R² over steps",
            est.score(X[200:], Y[200:]), seconds)


def demo_echo_state():
    from skrnn import EchoStateRegressor
    from skrnn.datasets import make_mackey_glass

    x = make_mackey_glass(3200, n_discard=200)
    x = (x - x.mean()) / x.std()
    U, Y = x[:-1, None], x[1:]  # predict the next value
    est = EchoStateRegressor(n_reservoir=500, spectral_radius=0.8, input_scaling=0.5,
                             bias_scaling=0.5, alpha=1e-10, washout=100, random_state=0)
    seconds = _timed_fit(est, U[None, :2100], Y[None, :2100])
    pred = est.predict(U[None, :3100])[0, 2100:]
    nrmse = float(np.sqrt(np.mean((pred - Y[2100:3100]) ** 2)) / np.std(Y[2100:3100]))
    return ("EchoStateRegressor", "Mackey-Glass, one step ahead", "NRMSE", nrmse, seconds)


def demo_seq2seq():
    from skrnn import Seq2SeqRegressor
    from skrnn.datasets import make_mackey_glass
    from skrnn.preprocessing import make_windows

    x = make_mackey_glass(1200, n_discard=200)
    x = (x - x[:900].mean()) / x[:900].std()
    X, y = make_windows(x, window=20, horizon=range(1, 11))  # the next 10 steps
    train = np.arange(len(X)) + 20 + 10 <= 900  # targets before step 900; test after it
    test = np.arange(len(X)) + 20 >= 900
    est = Seq2SeqRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=30,
                           random_state=0)
    seconds = _timed_fit(est, X[train], y[train])
    return ("Seq2SeqRegressor", "Mackey-Glass, next 10 steps", "R² (all steps)",
            est.score(X[test], y[test]), seconds)


DEMOS = [demo_classifier, demo_regressor, demo_seq2seq, demo_tagger, demo_step_regressor,
         demo_echo_state]


def main():
    # One BLAS thread: these networks' per-step products are small, and a multithreaded
    # BLAS synchronises its threads at every step, which costs far more than it gains
    # (many times more on a busy machine; benchmarks/blas_threads.py measures it).
    # threadpoolctl comes with scikit-learn.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        rows = [demo() for demo in DEMOS]
    header = ("estimator", "data", "metric", "test score", "fit seconds")
    table = [header] + [(e, d, m, f"{s:.4g}", f"{t:.1f}") for e, d, m, s, t in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
