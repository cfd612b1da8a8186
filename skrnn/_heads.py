"""Output heads: a linear layer on what the recurrent core produced, in the core's layout.

A head turns a :class:`~skrnn._bptt.ForwardResult` into a matrix of *rows* for the loss,
``Z`` of shape ``(m, n_outputs)``, and takes the loss gradient ``dZ`` back into the weight
gradients of its linear layer and the gradient the core's :func:`~skrnn._bptt.backward`
needs. Two heads:

- :class:`FinalStateHead` (many-to-one): one row per sequence, read from the top layer's
  state at each sequence's last real step (``ForwardResult.final_states``);
- :class:`StepHead` (per step, synced many-to-many): one row per real time step, read from
  the top layer's feature-major states ``ForwardResult.top`` of shape
  ``(n_timesteps, output_size, n_sequences)`` without converting them: the linear layer is
  one batched product over that layout, and only its small ``(n_timesteps, n_outputs,
  n_sequences)`` result is gathered into rows.

Rows of the per-step head come in ``mask`` order: time-major, ``Z[i]`` is step ``t`` of
sequence ``b`` for the ``i``-th True entry of ``mask[t, b]``, the order of
``targets[mask]`` for targets of shape ``(n_timesteps, n_sequences, ...)``.
"""

import numpy as np

__all__ = ["FinalStateHead", "StepHead"]


class FinalStateHead:
    """Linear layer on the top layer's final state: one row per sequence."""

    def forward(self, W, b, result, mask=None):
        """Rows of logits or predictions.

        Parameters
        ----------
        W : ndarray of shape (n_outputs, output_size)
        b : ndarray of shape (n_outputs,)
        result : ForwardResult
        mask : ignored
            For the interface shared with :class:`StepHead`.

        Returns
        -------
        Z : ndarray of shape (n_sequences, n_outputs)
        """
        Z = result.final_states @ W.T
        Z += b
        return Z

    def backward(self, W, dZ, result, mask=None):
        """Gradients of the head and what the core's backward takes.

        Parameters
        ----------
        W : ndarray of shape (n_outputs, output_size)
        dZ : ndarray of shape (n_sequences, n_outputs)
        result : ForwardResult

        Returns
        -------
        dW : ndarray of shape (n_outputs, output_size)
        db : ndarray of shape (n_outputs,)
        core_grad : dict
            Keyword arguments of :func:`skrnn._bptt.backward`: ``{"d_final": ...}``.
        """
        dW = dZ.T @ result.final_states
        return dW, dZ.sum(axis=0), {"d_final": dZ @ W}

    def predict(self, W, b, result):
        """Outputs of every sequence, ``(n_sequences, n_outputs)``."""
        return self.forward(W, b, result)


class StepHead:
    """Linear layer on the top layer's state at every real step: one row per real step."""

    def _all_steps(self, W, b, result):
        Z = np.matmul(W, result.top)  # (T, n_outputs, n): one batched product
        Z += b[:, None]
        return Z

    def forward(self, W, b, result, mask):
        """Rows of logits or predictions.

        Parameters
        ----------
        W : ndarray of shape (n_outputs, output_size)
        b : ndarray of shape (n_outputs,)
        result : ForwardResult
        mask : ndarray of bool of shape (n_timesteps, n_sequences)
            Real steps.

        Returns
        -------
        Z : ndarray of shape (n_real_steps, n_outputs)
            In ``mask`` order.
        """
        return self._all_steps(W, b, result).transpose(0, 2, 1)[mask]

    def backward(self, W, dZ, result, mask):
        """Gradients of the head and what the core's backward takes.

        Parameters
        ----------
        W : ndarray of shape (n_outputs, output_size)
        dZ : ndarray of shape (n_real_steps, n_outputs)
            In ``mask`` order.
        result : ForwardResult
        mask : ndarray of bool of shape (n_timesteps, n_sequences)

        Returns
        -------
        dW : ndarray of shape (n_outputs, output_size)
        db : ndarray of shape (n_outputs,)
        core_grad : dict
            ``{"d_top": ...}``, the gradient w.r.t. ``result.top`` in the core's layout.
        """
        T, n = mask.shape
        d_all = np.zeros((T, dZ.shape[1], n), dtype=dZ.dtype)  # zero at padding
        d_all.transpose(0, 2, 1)[mask] = dZ
        d_top = np.matmul(W.T, d_all)
        # sum_t dZ_t top_t^T; padded steps add nothing (their dZ is zero).
        dW = np.matmul(d_all, result.top.transpose(0, 2, 1)).sum(axis=0)
        return dW, dZ.sum(axis=0), {"d_top": d_top}

    def predict(self, W, b, result):
        """Outputs at every step, ``(n_timesteps, n_sequences, n_outputs)`` (padded steps
        hold values of carried states: mask them)."""
        return self._all_steps(W, b, result).transpose(0, 2, 1)
