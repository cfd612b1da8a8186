"""
==========================================
Classifying sequences of different lengths
==========================================

Sequences of different lengths go in as a plain list; skrnn pads them internally and
masks the padding, so the final state of every sequence is the one at its own last step.
"""

# %%
# Data: the class is whether the series drifts up or down; lengths vary from 5 to 40.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skrnn import RNNClassifier

rng = np.random.default_rng(0)
lengths = rng.integers(5, 41, 400)
drift = rng.choice([-1, 1], 400)
X = [np.cumsum(0.15 * d + rng.standard_normal(L))[:, None] for d, L in zip(drift, lengths)]
y = np.where(drift > 0, "up", "down")
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

# %%
# The ragged list and the padded batch skrnn builds from it (NaN marks padding here).
T = lengths.max()
padded = np.full((10, T), np.nan)
for i in range(10):
    padded[i, : lengths[i]] = X[i][:, 0]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for x in X[:10]:
    axes[0].plot(x[:, 0])
axes[0].set(title="ten sequences", xlabel="time step")
axes[1].imshow(np.isnan(padded), aspect="auto", cmap="Greys")
axes[1].set(title="padded batch: padding in black", xlabel="time step", ylabel="sequence")
fig.tight_layout()

# %%
# A GRU classifier, trained on the list as it is.
clf = RNNClassifier(cell="gru", hidden_layer_sizes=(16,), learning_rate_init=0.01,
                    max_iter=60, random_state=0).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
