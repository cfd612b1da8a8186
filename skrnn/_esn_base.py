"""What every reservoir estimator shares: the reservoir's parameters, building the fitted
reservoir from ``random_state``, checking it before a run, and the bounded-memory runs that
turn sequences into per-step states or per-sequence features.

The estimators (:mod:`skrnn._esn` per-step regression, :mod:`skrnn._esn_features`
classification and unsupervised features) compose these with a readout.
"""

import threading
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._reservoir import TOPOLOGIES, input_weights, make_reservoir, warn_if_no_echo_state
from ._reservoir_chunks import time_blocks
from ._reservoir_run import Reservoir

__all__ = ["RESERVOIR_PARAMETERS", "EchoStateBase", "kept_steps"]

# Independent random streams spawned from ``random_state``, in this order.
_STREAMS = ("reservoir", "eigen_solver", "input", "bias", "feedback", "noise")

# The last few normalised reservoirs, keyed by everything that determines them (topology,
# size, density, seed). A grid search clones and refits: with an integer random_state every
# fit draws the same reservoir, so a grid over spectral_radius, leak_rate, alpha, ... finds
# its eigenvalues here instead of recomputing them. Entries are copied in and out, so no
# estimator shares (or can alter) another's matrix; a lock keeps threaded grid searches
# safe, and matrices above _CACHE_MAX_VALUES stored values (dense ones of a few thousand
# units) are not kept.
_NORMALISED_CACHE = {}
_CACHE_SIZE = 4
_CACHE_MAX_VALUES = 2**22
_CACHE_LOCK = threading.Lock()


def _normalised(reservoir, n_reservoir, density, seed, rngs):
    if not isinstance(reservoir, str):  # user matrices and callables: not cached
        return make_reservoir(reservoir, n_reservoir, density, rngs["reservoir"],
                              rngs["eigen_solver"])
    key = (reservoir, int(n_reservoir), float(density) if reservoir == "random" else None,
           seed)
    with _CACHE_LOCK:
        hit = _NORMALISED_CACHE.get(key)
    if hit is None:
        W, rho = make_reservoir(reservoir, n_reservoir, density, rngs["reservoir"],
                                rngs["eigen_solver"])
        if (W.nnz if sp.issparse(W) else W.size) <= _CACHE_MAX_VALUES:
            with _CACHE_LOCK:
                while len(_NORMALISED_CACHE) >= _CACHE_SIZE:
                    _NORMALISED_CACHE.pop(next(iter(_NORMALISED_CACHE)))
                _NORMALISED_CACHE[key] = (W.copy(), rho)
        return W, rho
    W, rho = hit
    return W.copy(), rho


#: Constraints of the parameters every reservoir estimator has, under the same names.
RESERVOIR_PARAMETERS = {
    "n_reservoir": [Interval(Integral, 1, None, closed="left")],
    "spectral_radius": [Interval(Real, 0, None, closed="left")],
    "leak_rate": [Interval(Real, 0, 1, closed="right")],
    "input_scaling": [Interval(Real, 0, None, closed="left")],
    "bias_scaling": [Interval(Real, 0, None, closed="left")],
    "density": [Interval(Real, 0, 1, closed="right")],
    "input_density": [Interval(Real, 0, 1, closed="right")],
    "activation": [StrOptions({"tanh", "relu", "identity"})],
    "reservoir": [StrOptions(set(TOPOLOGIES)), "array-like", "sparse matrix", callable],
    "washout": [Interval(Integral, 0, None, closed="left")],
    "include_input": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def kept_steps(lengths, washout, t0, t1):
    """Boolean (t1 - t0, n_sequences): real steps in ``[t0, t1)`` after each washout.

    A sequence of length ``L`` drops its first ``min(washout, L - 1)`` steps, so it always
    keeps its last one.
    """
    t = np.arange(t0, t1)[:, None]
    return (t < lengths[None, :]) & (t >= np.minimum(washout, lengths - 1)[None, :])


class EchoStateBase(BaseEstimator):
    """Shared construction and runs of the reservoir estimators (not an estimator itself)."""

    # Parameters whose change after a fit the fitted matrices (or readout) cannot follow:
    # using the model then needs a refit. spectral_radius, leak_rate and activation apply
    # at run time instead.
    _structural_params = ("n_reservoir",)

    def _build_reservoir(self, n_features, n_feedback=0):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rngs = dict(zip(_STREAMS, (np.random.default_rng(s) for s in
                                   np.random.SeedSequence(seed).spawn(len(_STREAMS)))))
        warn_if_no_echo_state(self.spectral_radius, self.leak_rate)
        self.W_, self.spectral_radius_unit_ = _normalised(
            self.reservoir, self.n_reservoir, self.density, seed, rngs)
        self.W_in_ = input_weights(self.n_reservoir, n_features, self.input_density,
                                   self.input_scaling, rngs["input"])
        self.bias_ = rngs["bias"].uniform(-self.bias_scaling, self.bias_scaling,
                                          self.n_reservoir)
        self.W_back_ = (input_weights(self.n_reservoir, n_feedback, self.input_density,
                                      self.feedback_scaling, rngs["feedback"])
                        if n_feedback else None)
        self._noise_rng = rngs["noise"]
        self._structure = {k: getattr(self, k) for k in self._structural_params}

    def _scaled_reservoir(self):
        """``spectral_radius * W_``: the recurrent matrix as it runs."""
        if sp.issparse(self.W_):
            W = self.W_.copy()
            W.data *= self.spectral_radius
            return W
        return self.W_ * self.spectral_radius

    def _input_matrix(self):
        """Weights of the reservoir's external drive: ``[W_in, W_back]`` with feedback."""
        return self.W_in_ if self.W_back_ is None else np.hstack([self.W_in_, self.W_back_])

    def _runner(self, dtype=np.float64):
        """The fitted reservoir, checked, scaled by the current ``spectral_radius``."""
        check_is_fitted(self, "W_")
        for name, value in self._structure.items():
            now = getattr(self, name)
            if now is not value and now != value:
                raise ValueError(
                    f"{name} was changed from {value!r} to {now!r} after fit; the fitted "
                    f"reservoir and readout were built for {name}={value!r}. Call fit again.")
        # A model from a file is only as sound as its arrays: the shapes a run relies on.
        R, d = self.n_reservoir, self.n_features_in_
        for name, value, shape in (("W_in_", self.W_in_, (R, d)), ("bias_", self.bias_, (R,))):
            if np.shape(value) != shape:
                raise ValueError(f"{name} has shape {np.shape(value)}; the model expects "
                                 f"{shape}. The fitted reservoir is inconsistent: fit again.")
        return Reservoir(self.W_, self._input_matrix(), self.bias_,
                         spectral_radius=self.spectral_radius, leak_rate=self.leak_rate,
                         activation=self.activation, dtype=dtype)

    def _say(self, message):
        if self.verbose:
            print(f"[{type(self).__name__}] {message}", flush=True)

    def _chunk_progress(self, k, n_chunks, chunk, started):
        if self.verbose:
            self._say(f"chunk {k + 1}/{n_chunks}: {chunk.batch.n_sequences} sequence(s) of "
                      f"up to {chunk.batch.n_timesteps} steps, "
                      f"{time.perf_counter() - started:.2f} s elapsed")

    def _blocks(self, reservoir, chunk, h0=None, feature_major=False):
        """Run one chunk block by block: yields ``(t0, t1, U_block, states, last)``.

        ``states`` is (t1 - t0, n, R), or (t1 - t0, R, n) with ``feature_major``; ``last``
        the state of every sequence after step ``t1 - 1`` (or after its own last step, if
        that came earlier).
        """
        U, lengths = chunk.batch.X, chunk.batch.lengths
        h = h0
        for t0, t1 in time_blocks(U.shape[0], U.shape[1], reservoir.n_units):
            states, h = reservoir.run(U[t0:t1], np.clip(lengths - t0, 0, t1 - t0), h0=h,
                                      feature_major=feature_major)
            yield t0, t1, U[t0:t1], states, h

    def _sequence_summaries(self, data, reservoir, summaries, started=None):
        """Per-sequence features: for each name in ``summaries`` ("last", "mean"), the last
        or the mean (over the steps after the washout) of ``[u_t, x_t]`` (``x_t`` alone
        without ``include_input``).

        Returns
        -------
        F : ndarray of shape (n_sequences, len(summaries) * n_columns)
        """
        d = data.n_features if self.include_input else 0
        p = d + reservoir.n_units
        F = np.empty((data.n_sequences, len(summaries) * p), dtype=reservoir.dtype)
        started = time.perf_counter() if started is None else started
        n_chunks = len(data._chunks)
        for k, chunk in enumerate(data):
            lengths, n = chunk.batch.lengths, chunk.batch.n_sequences
            sums = np.zeros((n, p))
            last = None
            for block in self._blocks(reservoir, chunk):
                t0, t1, U, states, last = block
                if "mean" in summaries:
                    keep = kept_steps(lengths, self.washout, t0, t1).astype(states.dtype)
                    sums[:, d:] += np.einsum("tn,tnr->nr", keep, states)
                    if d:
                        sums[:, :d] += np.einsum("tn,tnd->nd", keep, U)
            cols = []
            for name in summaries:
                if name == "last":
                    head = [chunk.batch.X[lengths - 1, np.arange(n)]] if d else []
                    cols.append(np.hstack(head + [last]))
                else:
                    counts = lengths - np.minimum(self.washout, lengths - 1)
                    cols.append(sums / counts[:, None])
            F[chunk.index] = np.hstack(cols)
            self._chunk_progress(k, n_chunks, chunk, started)
        return F

    def _summary_names(self, summaries):
        """Output feature names of :meth:`_sequence_summaries`."""
        inputs = (list(getattr(self, "feature_names_in_", [])) or
                  [f"x{j}" for j in range(self.n_features_in_)])
        states = [f"state{i}" for i in range(self.n_reservoir)]
        cols = (inputs if self.include_input else []) + states
        return np.asarray([f"{s}_{c}" for s in summaries for c in cols], dtype=object)
