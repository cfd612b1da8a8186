"""
=========================================
Clockwork RNN against a plain RNN
=========================================

The class of each sequence is the sign of its first step; the 119 steps after it are unit
Gaussian noise. A Clockwork RNN (modules with clock periods 1, 2, 4, 8, 16, slow modules
updating rarely) keeps the first value; a plain RNN with the same number of trainable
parameters keeps overwriting it with noise.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skrnn import RNNClassifier

rng = np.random.default_rng(0)


def remember_first_step(n, T=120):
    X = rng.standard_normal((n, T, 1))
    c = rng.integers(0, 2, n)
    X[:, 0, 0] = 2 * c - 1
    return X, c


X, y = remember_first_step(1000)
X_test, y_test = remember_first_step(500)
common = dict(learning_rate_init=0.01, max_iter=60, batch_size=50, random_state=0)
models = {
    "plain RNN, 16 units": RNNClassifier(cell="rnn", hidden_layer_sizes=(16,), **common),
    "clockwork, 20 units": RNNClassifier(cell="clockwork", hidden_layer_sizes=(20,),
                                         clock_periods=(1, 2, 4, 8, 16), **common),
}
# The plain RNN's fit ends with a ConvergenceWarning: its training loss is no better than
# the class priors', so it says that it has not learnt the task.
for name, model in models.items():
    model.fit(X, y)
    print(f"{name}: test accuracy {model.score(X_test, y_test):.3f}")

# %%
# The recurrent matrix of the clockwork network: block upper-triangular, so each module
# hears itself and the slower modules only.
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (name, model) in zip(axes, models.items()):
    ax.plot(model.loss_curve_)
    ax.set(title=name, xlabel="epoch", ylabel="training loss")
fig.tight_layout()
plt.figure()
W = models["clockwork, 20 units"].get_weights()["weight_hh_l0"]
plt.imshow(W != 0, cmap="Greys")
plt.title("non-zero recurrent weights of the clockwork layer")
