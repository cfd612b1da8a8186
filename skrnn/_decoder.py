"""The decoder of the encoder-decoder (:class:`~skrnn.Seq2SeqRegressor`): a second
recurrent stack that starts from the encoder's final states and emits ``H`` steps.

The decoder is an ordinary unidirectional stack of the :mod:`skrnn._bptt` core, run over
its own input sequence of ``H`` steps, with a linear head (:class:`~skrnn._heads.StepHead`)
on its top layer at every step. Three things make it a decoder:

- **The bridge.** Its layer ``k`` has the width of the encoder's layer ``k`` output, ``D *
  h_k`` (``D = 2`` for a bidirectional encoder), and starts from that layer's final states,
  the forward and backward ones concatenated (:func:`bridge_states`); gradients with
  respect to the decoder's initial states split back into the encoder's ``d_h_n``/``d_c_n``
  (:func:`split_state_grads`). No parameters: the concatenation is exactly what a
  bidirectional encoder's top layer already hands its head.
- **Its inputs.** Step ``0`` reads zeros; step ``k > 0`` reads the previous target
  (teacher forcing, :func:`teacher_inputs`), the previous prediction (autoregressive,
  :func:`decode`), or a per-sequence random mix of the two (scheduled sampling,
  :func:`sampled_inputs`). A fed-back prediction is a constant: no gradient flows
  through it, so training runs the decoder once more over the inputs it actually read,
  with a cache, and back-propagates through that pass as under teacher forcing.
- **Rows.** One training row per sequence holds all ``H`` steps and outputs,
  ``(n_sequences, H * n_outputs)``, horizon-major (all outputs at step 1, then step 2...).

Parameters of the decoder live in the estimator's weight dict under ``"decoder."`` plus
the core's names (``decoder.weight_ih_l0`` ...); :func:`decoder_params` strips the prefix.
"""

import numpy as np

from ._bptt import RecurrentConfig, StepRunner

__all__ = ["DECODER_PREFIX", "decoder_config", "decoder_params", "bridge_states",
           "split_state_grads", "teacher_inputs", "sampled_inputs", "decode",
           "steps_to_rows", "rows_to_steps"]

DECODER_PREFIX = "decoder."


def decoder_config(encoder, n_outputs):
    """The decoder's architecture for an encoder ``RecurrentConfig`` and ``n_outputs``.

    Same cell and options; unidirectional; layer ``k`` is ``n_directions * h_k`` wide;
    its input is the previous step's ``n_outputs`` values.
    """
    D = encoder.n_directions
    return RecurrentConfig(
        cell=encoder.cell, input_size=n_outputs,
        hidden_sizes=tuple(D * h for h in encoder.hidden_sizes), bidirectional=False,
        activation=encoder.activation, recurrent_activation=encoder.recurrent_activation,
        reset_after=encoder.reset_after, clock_periods=encoder.clock_periods)


def decoder_params(weights):
    """The decoder's parameters under the core's names (prefix stripped; views)."""
    n = len(DECODER_PREFIX)
    return {k[n:]: v for k, v in weights.items() if k.startswith(DECODER_PREFIX)}


def bridge_states(encoder, states):
    """Decoder initial states from the encoder's final states.

    Parameters
    ----------
    encoder : RecurrentConfig
    states : list of ndarray of shape (n_sequences, h_k) or None
        ``ForwardResult.h_n`` (or ``c_n``): per layer and direction.

    Returns
    -------
    list of ndarray of shape (n_sequences, n_directions * h_k) or None
        One per layer: the directions of that layer concatenated.
    """
    if states is None:
        return None
    D = encoder.n_directions
    if D == 1:
        return list(states)
    return [np.concatenate(states[D * k: D * k + D], axis=1)
            for k in range(len(encoder.hidden_sizes))]


def split_state_grads(encoder, grads):
    """The inverse of :func:`bridge_states` for gradients: per layer and direction."""
    if grads is None:
        return None
    if encoder.n_directions == 1:
        return list(grads)
    out = []
    for k, h in enumerate(encoder.hidden_sizes):
        g = grads[k]
        out += [g[:, :h], g[:, h:]]
    return out


def teacher_inputs(Y):
    """Teacher-forced decoder inputs: zeros, then the targets shifted by one step.

    Parameters
    ----------
    Y : ndarray of shape (n_sequences, H, n_outputs)

    Returns
    -------
    inputs : ndarray of shape (H, n_sequences, n_outputs)
        Time-major, as :func:`skrnn._bptt.forward` takes it.
    """
    n, H, m = Y.shape
    inputs = np.zeros((H, n, m), dtype=Y.dtype)
    inputs[1:] = Y[:, :-1].transpose(1, 0, 2)
    return inputs


def _predict(runner, W, b, x, masks=None):
    """One decoder step for every sequence: input ``x`` (n, m) -> prediction (n, m)."""
    y = runner.step(x, masks).T @ W.T
    y += b
    return y


def decode(config, params, W, b, h0, c0, horizon):
    """Autoregressive decoding: each step reads the previous step's prediction.

    One batched step per horizon step over all sequences given, by a
    :class:`~skrnn._bptt.StepRunner` started once for the ``horizon`` steps.

    Parameters
    ----------
    config : RecurrentConfig
        The decoder's (:func:`decoder_config`).
    params : dict of str to ndarray
        The decoder's parameters (:func:`decoder_params`).
    W : ndarray of shape (n_outputs, output_size)
    b : ndarray of shape (n_outputs,)
    h0, c0 : list of ndarray of shape (n_sequences, width_k) or None
        Initial states per layer (:func:`bridge_states`).
    horizon : int

    Returns
    -------
    Y : ndarray of shape (n_sequences, horizon, n_outputs)
    """
    n, m = h0[0].shape[0], W.shape[0]
    out = np.empty((n, horizon, m), dtype=W.dtype)
    x = np.zeros((n, m), dtype=W.dtype)
    runner = StepRunner(config, params, horizon, n, h0=h0, c0=c0, dtype=W.dtype)
    for k in range(horizon):
        x = _predict(runner, W, b, x)
        out[:, k] = x
    return out


def sampled_inputs(config, params, W, b, h0, c0, Y, teacher_prob, rng, dropout_masks=None):
    """Scheduled sampling: decoder inputs mixing targets and the model's own predictions.

    At each step ``k > 0``, each sequence reads the target of step ``k - 1`` with
    probability ``teacher_prob`` and otherwise the decoder's prediction of that step
    (made from the inputs chosen before it, by a :class:`~skrnn._bptt.StepRunner`). The
    predictions are returned as values, so they are constants for the gradient.

    Parameters
    ----------
    config, params, W, b, h0, c0
        As in :func:`decode`.
    Y : ndarray of shape (n_sequences, H, n_outputs)
        Targets.
    teacher_prob : float in [0, 1]
    rng : numpy.random.Generator
    dropout_masks : list of ndarray of shape (H, width, n_sequences) or None
        The decoder's dropout masks of this training step; step ``k`` uses ``[k]``.

    Returns
    -------
    inputs : ndarray of shape (H, n_sequences, n_outputs)
    """
    n, H, m = Y.shape
    inputs = np.zeros((H, n, m), dtype=Y.dtype)
    teacher = rng.random((H, n)) < teacher_prob
    if H < 2:
        return inputs
    runner = StepRunner(config, params, H - 1, n, h0=h0, c0=c0, dtype=Y.dtype)
    for k in range(H - 1):
        masks = (None if dropout_masks is None
                 else [None if a is None else a[k] for a in dropout_masks])
        pred = _predict(runner, W, b, inputs[k], masks)
        inputs[k + 1] = np.where(teacher[k + 1][:, None], Y[:, k], pred)
    return inputs


def steps_to_rows(Z, n, horizon):
    """Per-step head rows, time-major ``(H * n, m)``, to one row per sequence
    ``(n, H * m)``, horizon-major."""
    m = Z.shape[1]
    return Z.reshape(horizon, n, m).transpose(1, 0, 2).reshape(n, horizon * m)


def rows_to_steps(dZ, n, horizon):
    """The inverse of :func:`steps_to_rows`."""
    m = dZ.shape[1] // horizon
    return dZ.reshape(n, horizon, m).transpose(1, 0, 2).reshape(horizon * n, m)
