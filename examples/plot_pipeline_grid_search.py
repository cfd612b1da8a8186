"""
=================================================
A Pipeline with SequenceScaler and a grid search
=================================================

skrnn's estimators are ordinary scikit-learn estimators: they go into a
:class:`~sklearn.pipeline.Pipeline` behind :class:`~skrnn.preprocessing.SequenceScaler`
(per-feature standardisation over the real time steps of 3-D or ragged data), and
:class:`~sklearn.model_selection.GridSearchCV` tunes the whole pipeline, including whether
to scale at all. The data are scikit-learn's digits read row by row (8 time steps of 8
pixels) with their raw pixel values from 0 to 16.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skrnn import RNNClassifier
from skrnn.preprocessing import SequenceScaler

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8)  # (n_sequences, n_timesteps=8, n_features=8), values 0..16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)

pipe = Pipeline([
    ("scale", SequenceScaler()),
    ("rnn", RNNClassifier(learning_rate_init=0.01, batch_size=64, max_iter=15,
                          random_state=0)),
])
param_grid = {
    "scale": [SequenceScaler(), "passthrough"],
    "rnn__cell": ["rnn", "gru"],
    "rnn__hidden_layer_sizes": [(8,), (32,)],
}
search = GridSearchCV(pipe, param_grid, cv=3)
with warnings.catch_warnings():
    # Every candidate gets the same budget of 15 epochs.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy of the best: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best: {search.score(X_test, y_test):.3f}")

# %%
# The cross-validation results
# ----------------------------
# ``cv_results_`` holds one entry per candidate. Standardising the pixels helps every
# network here; the GRU beats the vanilla RNN at both widths.
results = search.cv_results_
scaled = np.array([not isinstance(s, str) for s in results["param_scale"]])
labels = [f"{cell}, {sizes[0]} units" for cell, sizes in
          zip(results["param_rnn__cell"], results["param_rnn__hidden_layer_sizes"])]
groups = list(dict.fromkeys(labels))  # the four network configurations, in grid order
x = np.arange(len(groups))
width = 0.38

fig, ax = plt.subplots(figsize=(7, 4))
for offset, is_scaled, name in [(-width / 2, True, "SequenceScaler"),
                                (width / 2, False, "no scaling")]:
    rows = [next(i for i, lab in enumerate(labels) if lab == g and scaled[i] == is_scaled)
            for g in groups]
    ax.bar(x + offset, results["mean_test_score"][rows], width,
           yerr=results["std_test_score"][rows], capsize=3, label=name)
ax.set_xticks(x, groups)
ax.set(ylabel="mean accuracy over 3 folds", ylim=(0.4, 1.0),
       title="GridSearchCV over a SequenceScaler + RNNClassifier pipeline")
ax.legend(loc="upper left")
fig.tight_layout()
