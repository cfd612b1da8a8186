"""
============================================
Mackey-Glass with an echo state network
============================================

One-step-ahead prediction of the chaotic Mackey-Glass series, then a closed-loop forecast
in which the network runs on its own output.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skrnn import EchoStateRegressor
from skrnn.datasets import make_mackey_glass

x = make_mackey_glass(3200, n_discard=200)
x = (x - x.mean()) / x.std()
U, Y = x[:-1], x[1:]  # predict the next value
esn = EchoStateRegressor(n_reservoir=500, spectral_radius=0.8, input_scaling=0.5,
                         bias_scaling=0.5, alpha=1e-10, washout=100, random_state=0)
esn.fit(U[None, :2100, None], Y[None, :2100])
pred = esn.predict(U[None, :3100, None])[0, 2100:]
nrmse = np.sqrt(np.mean((pred - Y[2100:3100]) ** 2)) / np.std(Y[2100:3100])
print(f"one-step NRMSE: {nrmse:.2e}")

# %%
# Closed loop: warm up on the training part, then feed every prediction back as input.
forecast = esn.generate(U[None, :2100, None], n_steps=600)[0, :, 0]
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.plot(np.arange(2100, 2700), U[2100:2700], label="true series")
ax.plot(np.arange(2100, 2700), forecast, "--", label="closed-loop forecast")
ax.set(xlabel="time step", title="EchoStateRegressor running on its own output")
ax.legend()
fig.tight_layout()
