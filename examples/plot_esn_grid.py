"""
==================================================
Spectral radius and leak rate of an echo state net
==================================================

A grid over ``spectral_radius`` and ``leak_rate`` on NARMA-10. The reservoir is normalised
once per fit and scaled at run time, so the grid never recomputes eigenvalues.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skrnn import EchoStateRegressor
from skrnn.datasets import make_narma

u, y = make_narma(2200, random_state=0)
X, t = u[None, :, None], y[None]
radii = [0.3, 0.6, 0.9, 0.99]
leaks = [0.2, 0.5, 1.0]
scores = np.empty((len(leaks), len(radii)))
for i, leak in enumerate(leaks):
    for j, rho in enumerate(radii):
        esn = EchoStateRegressor(n_reservoir=200, spectral_radius=rho, leak_rate=leak,
                                 input_scaling=0.2, bias_scaling=0.2, washout=100,
                                 random_state=0).fit(X[:, :1500], t[:, :1500])
        scores[i, j] = esn.score(X[:, 1500:], t[:, 1500:])

# %%
fig, ax = plt.subplots()
im = ax.imshow(scores, cmap="viridis", origin="lower")
ax.set(xticks=range(len(radii)), xticklabels=radii, yticks=range(len(leaks)),
       yticklabels=leaks, xlabel="spectral_radius", ylabel="leak_rate",
       title="NARMA-10 test R²")
for (i, j), s in np.ndenumerate(scores):
    ax.text(j, i, f"{s:.2f}", ha="center", va="center", color="w")
fig.colorbar(im)
