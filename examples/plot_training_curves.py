"""
===================================
Training curves and early stopping
===================================

``loss_curve_`` records the training loss of every epoch; with ``early_stopping=True`` a
held-out fraction of the sequences is scored after every epoch (``validation_scores_``), and
the weights of the best epoch are restored at the end.
"""

# %%
import matplotlib.pyplot as plt

from skrnn import LSTMRegressor
from skrnn.datasets import make_adding_problem

X, y = make_adding_problem(n_sequences=1500, n_timesteps=20, random_state=0)
model = LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=64,
                      early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                      max_iter=60, random_state=0).fit(X, y)
print(f"stopped after {model.n_iter_} epochs; best validation R² "
      f"{model.best_validation_score_:.4f}")

# %%
fig, ax1 = plt.subplots()
ax1.plot(model.loss_curve_, label="training loss")
ax1.set(xlabel="epoch", ylabel="training loss (half MSE)", yscale="log")
ax2 = ax1.twinx()
ax2.plot(model.validation_scores_, color="C1", label="validation R²")
ax2.set_ylabel("validation R²")
fig.legend(loc="center right")
fig.tight_layout()
