"""Bounded-memory reservoir runs: length-sorted chunks of sequences, cut into time blocks.

A reservoir run over a padded batch costs memory in proportion to the longest sequence
times the number of sequences times the units, whatever the other lengths. Here the
sequences are sorted by length and grouped so that the lengths within a group differ by at
most a factor of 2, and each group is run in blocks of time steps, carrying the state from
block to block, so that one block of states holds at most :data:`WORKING_ELEMENTS` numbers.
A ragged list is validated and padded chunk by chunk, so its padded copy never exists
either. Per-step outputs are written straight into the caller's structure
(:class:`StepOutputs`).
"""

import re
from dataclasses import dataclass

import numpy as np

from ._sequences import (
    SequenceBatch,
    _is_ragged_list,
    check_sequences,
    check_step_targets,
)

__all__ = ["WORKING_ELEMENTS", "ChunkedInput", "StepOutputs", "time_blocks"]

#: Numbers in one block of reservoir states (16 MiB in float64). The run holds a few arrays
#: of this size at once (the input projection, the feature-major states and their
#: batch-major copy).
WORKING_ELEMENTS = 2**21

# A chunk keeps at least this many time steps per block when it can, so that the per-block
# work (the input projection, the readout's products) is not dominated by call overhead.
_MIN_BLOCK_STEPS = 8


def _renumbered(exc, index):
    """The same exception with the chunk's sequence numbers replaced by the caller's."""
    def sub(m):
        i = int(m.group(2))
        return m.group(1) + str(index[i]) if i < len(index) else m.group(0)

    return type(exc)(re.sub(r"([Ss]equence )(\d+)", sub, str(exc)))


def plan_chunks(lengths, n_units, budget=None):
    """Split sequences into length-sorted chunks: a list of index arrays.

    Within a chunk the shortest sequence is at least half as long as the longest, and the
    chunk is narrow enough that ``_MIN_BLOCK_STEPS`` steps of its states fit in ``budget``.
    """
    budget = WORKING_ELEMENTS if budget is None else budget
    order = np.argsort(-np.asarray(lengths), kind="stable")
    chunks, i, n = [], 0, len(order)
    while i < n:
        longest = int(lengths[order[i]])
        cap = max(1, budget // (n_units * min(max(longest, 1), _MIN_BLOCK_STEPS)))
        j = i + 1
        while j < n and j - i < cap and 2 * lengths[order[j]] >= longest:
            j += 1
        chunks.append(np.sort(order[i:j]))
        i = j
    return chunks


def time_blocks(n_timesteps, n_sequences, n_units, budget=None):
    """``(t0, t1)`` bounds of the time blocks of a chunk, each within ``budget`` numbers."""
    budget = WORKING_ELEMENTS if budget is None else budget
    step = max(1, budget // max(1, n_sequences * n_units))
    return [(t0, min(n_timesteps, t0 + step)) for t0 in range(0, n_timesteps, step)]


@dataclass
class Chunk:
    """A chunk of sequences: their positions in ``X``, padded batch and per-step targets."""

    index: np.ndarray
    batch: SequenceBatch
    Y: np.ndarray = None


class ChunkedInput:
    """Validated input ``X`` (and optionally per-step targets), served in chunks.

    A 2-D or 3-D array is validated in one piece (its padded copy is the size of the
    input). A ragged list is validated chunk by chunk; its errors still name the sequence by
    its position in ``X``.

    Parameters
    ----------
    X : array-like or list of arrays
        The input, in any form of the input contract.
    estimator : estimator
        Gets (``reset=True``) or checks ``n_features_in_``.
    reset : bool
    n_units : int
        Reservoir units: sets the chunk widths.
    y : array-like or list of arrays, default=None
        Per-step targets, checked as :func:`~skrnn._sequences.check_step_targets` does.

    Attributes
    ----------
    kind : {"2d", "3d", "ragged"}
    lengths : ndarray of shape (n_sequences,)
    n_timesteps_in : int
    dtype : numpy.dtype
        float32 when all of the input is float32, else float64.
    """

    def __init__(self, X, *, estimator, reset, n_units, y=None):
        self._estimator, self._reset, self._y = estimator, reset, y
        self.n_units = int(n_units)
        self._ragged = _is_ragged_list(X)
        if self._ragged:
            self._X = list(X)
            self.lengths = np.array([np.shape(s)[0] if np.ndim(s) else 0 for s in self._X],
                                    dtype=np.intp)
            self._check_feature_counts()
            self.kind = "ragged"
            self.n_timesteps_in = int(self.lengths.max())
            dtypes = {getattr(s, "dtype", None) for s in self._X}
            self.dtype = np.dtype(np.float32 if dtypes == {np.dtype(np.float32)}
                                  else np.float64)
            if y is not None and len(y) != len(self._X):
                raise ValueError(f"X has {len(self._X)} sequences but y has {len(y)} label "
                                 "sequences; they must match.")
            # Validate the first chunk now, so n_features_in_ is set before any work.
            self._chunks = plan_chunks(self.lengths, self.n_units)
            self._first = self._ragged_chunk(self._chunks[0], reset=reset, targets=False)
            if y is not None:
                # Every sequence of X is checked before any target, as the unchunked check
                # does: an error in X is reported as such, whatever y holds.
                for index in self._chunks[1:]:
                    self._ragged_chunk(index, reset=False, targets=False)
        else:
            self._batch = check_sequences(X, estimator=estimator, reset=reset)
            self.lengths, self.kind = self._batch.lengths, self._batch.kind
            self.n_timesteps_in = self._batch.n_timesteps_in
            self.dtype = self._batch.X.dtype
            self._Y = None
            if y is not None:
                self._Y = check_step_targets(y, self._batch, numeric=True,
                                             allow_multi_output=True)
            self._chunks = plan_chunks(self.lengths, self.n_units)
        self.n_features = estimator.n_features_in_

    def _check_feature_counts(self):
        """Mixed feature counts across chunks: the message the unchunked check would give."""
        counts = [np.shape(s)[1] if np.ndim(s) == 2 else None for s in self._X]
        first = counts[0]
        for i, c in enumerate(counts):
            if first is not None and c is not None and c != first:
                raise ValueError(
                    f"Sequence {i} of X has {c} features but sequence 0 has {first}; all "
                    "sequences must have the same number of features.")

    @property
    def n_sequences(self):
        return len(self.lengths)

    @property
    def y_ndim(self):
        """2 for one output per step (1-D targets per sequence), 3 for several."""
        if self._ragged:
            return 3 if np.ndim(self._y[0]) == 2 else 2
        return self._Y.ndim

    @property
    def n_outputs(self):
        if self._ragged:
            return np.shape(self._y[0])[1] if np.ndim(self._y[0]) == 2 else 1
        return self._Y.shape[2] if self._Y.ndim == 3 else 1

    def _ragged_chunk(self, index, reset, targets=True, batch=None):
        try:
            if batch is None:
                batch = check_sequences([self._X[i] for i in index],
                                        estimator=self._estimator, reset=reset,
                                        dtype=self.dtype)
            Y = None
            if targets and self._y is not None:
                Y = check_step_targets([self._y[i] for i in index], batch, numeric=True,
                                       allow_multi_output=True)
        except (ValueError, TypeError) as exc:
            raise _renumbered(exc, index) from None
        return Chunk(index, batch, self._float_targets(Y))

    def _float_targets(self, Y):
        if Y is None:
            return None
        Y = np.asarray(Y, dtype=np.float64)
        return Y if Y.ndim == 3 else Y[:, :, None]

    def __iter__(self):
        for k, index in enumerate(self._chunks):
            if self._ragged:
                chunk = (self._ragged_chunk(index, reset=False, batch=self._first.batch)
                         if k == 0 else self._ragged_chunk(index, reset=False))
                if self._y is not None and k and chunk.Y.shape[2] != self.n_outputs:
                    raise ValueError("All target sequences must have the same number of "
                                     "outputs.")
                yield chunk
            else:
                batch = self._batch.take(index)
                Y = None
                if self._Y is not None:
                    Y = self._float_targets(self._Y[: batch.n_timesteps, index])
                yield Chunk(index, batch, Y)


class StepOutputs:
    """Per-step values written chunk by chunk, time block by time block, into the structure
    of the caller's ``X``: ``(n_samples, k)``, ``(n_sequences, n_timesteps, k)`` with NaN at
    padded steps, or a list of ``(n_timesteps_i, k)`` arrays.
    """

    def __init__(self, data, n_columns, dtype, squeeze=False):
        self.data, self.k, self.squeeze = data, int(n_columns), squeeze
        n, L = data.n_sequences, data.lengths
        if data.kind == "2d":
            self.out = np.empty((n, self.k), dtype=dtype)
        elif data.kind == "3d":
            self.out = np.empty((n, data.n_timesteps_in, self.k), dtype=dtype)
        else:
            self.out = [np.empty((int(L[i]), self.k), dtype=dtype) for i in range(n)]

    def put(self, index, t0, values):
        """Write ``values`` of shape (n_steps, len(index), k), steps ``t0, t0 + 1, ...``."""
        if self.data.kind == "2d":
            self.out[index] = values[0]
            return
        if self.data.kind == "3d":
            self.out[index, t0:t0 + values.shape[0]] = np.swapaxes(values, 0, 1)
            return
        t1 = t0 + values.shape[0]
        for j, i in enumerate(index):
            stop = min(int(self.data.lengths[i]), t1)
            if stop > t0:
                self.out[i][t0:stop] = values[: stop - t0, j]

    def result(self):
        out = self.out
        if self.data.kind == "3d":
            pad = np.arange(out.shape[1])[None, :] >= self.data.lengths[:, None]
            if pad.any():
                out[pad] = np.nan
        if self.squeeze:
            out = [a[:, 0] for a in out] if isinstance(out, list) else out[..., 0]
        return out
