"""
=====================================================
Forecasting a series with sliding windows and an LSTM
=====================================================

:func:`skrnn.preprocessing.make_windows` turns one long series into windows and the value
``horizon`` steps after each; ``LSTMRegressor`` then learns the many-to-one mapping.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skrnn import LSTMRegressor
from skrnn.preprocessing import make_windows

t = np.arange(1200)
series = np.sin(0.06 * t) + 0.5 * np.sin(0.013 * t)
X, y = make_windows(series, window=30, horizon=5)
split = 900
model = LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60,
                      random_state=0).fit(X[:split], y[:split])
print(f"held-out R²: {model.score(X[split:], y[split:]):.4f}")

# %%
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.plot(y[split:], label="true value 5 steps ahead")
ax.plot(model.predict(X[split:]), "--", label="LSTMRegressor")
ax.set(xlabel="window", title="five-step-ahead forecast on the held-out tail")
ax.legend()
fig.tight_layout()
