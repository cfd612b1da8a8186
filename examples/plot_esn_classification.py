"""
===================================================================
Echo state network classifier against a trained LSTM, on digits
===================================================================

Each 8x8 image of scikit-learn's handwritten digits data set (shipped with scikit-learn,
:func:`sklearn.datasets.load_digits`) is read row by row: a multivariate sequence of 8 time
steps with 8 features. :class:`~skrnn.EchoStateClassifier` runs every sequence through a
fixed random reservoir, keeps the last and the mean state (with the same summaries of the
input) and fits a ridge readout in one linear solve; :class:`~skrnn.RNNClassifier` trains an
LSTM by backpropagation through time. Both see the same split; the script prints accuracy
and fit time (process CPU seconds) for each.

The same features are available without targets from :class:`~skrnn.EchoStateTransformer`,
the first step of a pipeline that ends in any scikit-learn classifier.
"""

# %%
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skrnn import EchoStateClassifier, EchoStateTransformer, RNNClassifier

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8) / 16.0  # (n_sequences, n_timesteps=8, n_features=8)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)

models = {
    "EchoStateClassifier": EchoStateClassifier(n_reservoir=300, alpha=0.1, random_state=0),
    "EchoStateTransformer + LogisticRegression": make_pipeline(
        EchoStateTransformer(n_reservoir=300, random_state=0),
        LogisticRegression(C=10.0, max_iter=2000)),
    "RNNClassifier (LSTM)": RNNClassifier(cell="lstm", hidden_layer_sizes=(64,),
                                          learning_rate_init=0.01, alpha=1e-3, batch_size=64,
                                          max_iter=40, random_state=0),
}
results = {}
for name, model in models.items():
    start = time.process_time()
    model.fit(X_train, y_train)
    seconds = time.process_time() - start
    results[name] = (model.score(X_test, y_test), seconds)
    print(f"{name:45s} test accuracy {results[name][0]:.3f}   fit {seconds:6.2f} s CPU")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
names = list(results)
ax1.barh(names, [results[n][0] for n in names])
ax1.set_xlim(0.9, 1.0)
ax1.set_xlabel("test accuracy")
ax2.barh(names, [results[n][1] for n in names])
ax2.set_xscale("log")
ax2.set_xlabel("fit time (CPU seconds, log scale)")
ax2.set_yticks([])
fig.tight_layout()
