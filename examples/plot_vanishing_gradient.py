"""
=====================================================
The vanishing gradient: RNN, GRU and LSTM as T grows
=====================================================

The adding problem (Hochreiter and Schmidhuber, 1997) gives a network a sequence of random
values and two markers; the target is the sum of the two marked values. The information the
network needs can be anywhere in the sequence, so the error signal must travel back through
up to ``T`` steps of backpropagation through time.

For a vanilla ``tanh`` RNN that signal is a product of ``T`` Jacobians
``diag(1 - h_t**2) W_hh`` whose norms are mostly below one, and it shrinks geometrically:
beyond a few steps the RNN learns nothing better than predicting the mean (mean squared
error 1/6). The GRU and the LSTM carry their state additively through gates, which let the
signal through once they have learned to. All three models are
:class:`~skrnn.LSTMRegressor` with a different ``cell`` and the same width, optimiser and
number of epochs.
"""

# %%
# Test error as the sequences get longer
# --------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error

from skrnn import LSTMRegressor
from skrnn.datasets import make_adding_problem

cells = ["rnn", "gru", "lstm"]
lengths = [5, 10, 20, 40, 80]
n_train, n_test = 1000, 500
test_mse = {cell: [] for cell in cells}
models = {}
for T in lengths:
    X, y = make_adding_problem(n_sequences=n_train + n_test, n_timesteps=T, random_state=0)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    for cell in cells:
        model = LSTMRegressor(cell=cell, hidden_layer_sizes=(16,), learning_rate_init=0.01,
                              batch_size=32, max_iter=20, random_state=0)
        with warnings.catch_warnings():
            # A fixed budget of 20 epochs for every model, converged or not.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        test_mse[cell].append(mean_squared_error(y_test, model.predict(X_test)))
        models[cell] = model  # the last ones kept are those of the longest T
    print(f"T={T:3d}  " + "  ".join(f"{c}: {test_mse[c][-1]:.4f}" for c in cells))

# %%
fig, ax = plt.subplots()
for cell in cells:
    ax.plot(lengths, test_mse[cell], "o-", label=f"cell={cell!r}")
ax.axhline(1 / 6, color="grey", linestyle="--", label="predict the mean (1/6)")
ax.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="test MSE",
       title="Adding problem, 16 units, 20 epochs")
ax.set_xticks(lengths, [str(T) for T in lengths])
ax.minorticks_off()
ax.legend()

# %%
# What each trained model looks at
# --------------------------------
# A model that solved the task has learned that the prediction moves one for one with each
# marked value: the derivative of the prediction with respect to a marked value is 1,
# wherever the mark is. We measure that derivative on test sequences of the longest length
# by central finite differences through ``predict`` (each perturbed copy is one more
# sequence in a single batch) and plot it against the distance of the mark from the end.
T = lengths[-1]
X_probe = X_test[:50]
n_probe = len(X_probe)
eps = 1e-3
copies = np.repeat(X_probe[:, None], T, axis=1)  # (n_probe, T copies, T steps, 2)
nudge = np.zeros_like(copies)
steps = np.arange(T)
nudge[:, steps, steps, 0] = eps  # copy t has the value at step t nudged
up = (copies + nudge).reshape(n_probe * T, T, 2)
down = (copies - nudge).reshape(n_probe * T, T, 2)
marked_seq, marked_step = np.nonzero(X_probe[:, :, 1])  # two marks per sequence
distance = T - 1 - marked_step
bins = np.arange(0, T + 1, 10)


def marked_sensitivity(model):
    """d prediction / d value at each marked step of the probe sequences."""
    slope = (model.predict(up) - model.predict(down)) / (2 * eps)
    return slope.reshape(n_probe, T)[marked_seq, marked_step]


def plot_profile(ax, slope, label, **style):
    ax.scatter(distance, slope, s=6, alpha=0.3, color=style["color"])
    which = np.digitize(distance, bins) - 1
    binned = [slope[which == b].mean() for b in range(len(bins) - 1)]
    ax.plot(bins[:-1] + 5, binned, marker="o", label=label, **style)


fig, ax = plt.subplots()
for i, cell in enumerate(cells):
    plot_profile(ax, marked_sensitivity(models[cell]), f"cell={cell!r}, 20 epochs",
                 color=f"C{i}")

# %%
# The RNN predicts the mean: no mark moves its prediction. The GRU responds to every mark,
# near the end or 80 steps away. The LSTM is caught in between: after 20 epochs the marks in
# the last few steps already count, the distant ones not yet, because the error signal that
# teaches it to keep a value decays with every step it travels back. Its gates let that
# signal through once they have learned to: ten more epochs with ``partial_fit`` (which
# keeps the optimiser's state) and the profile rises everywhere.
lstm = models["lstm"]
for _ in range(10):
    lstm.partial_fit(X_train, y_train)
print(f"LSTM at T={T} after 30 epochs: test MSE "
      f"{mean_squared_error(y_test, lstm.predict(X_test)):.4f}")
plot_profile(ax, marked_sensitivity(lstm), "cell='lstm', 30 epochs", color="C2",
             linestyle="--")
ax.axhline(1.0, color="grey", linestyle=":", label="ideal")
ax.set(xlabel="steps between the mark and the end of the sequence",
       ylabel="d prediction / d marked value",
       title=f"Sensitivity to the marked values, T={T}")
ax.legend(fontsize="small")
