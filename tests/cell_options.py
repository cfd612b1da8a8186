"""Every cell and cell option of the core, as pytest parameters shared by the core's tests."""

import pytest

#: Every built-in cell with each option that changes its arithmetic.
CELL_OPTIONS = [
    pytest.param(dict(cell="rnn", activation="tanh"), id="rnn-tanh"),
    pytest.param(dict(cell="rnn", activation="relu"), id="rnn-relu"),
    pytest.param(dict(cell="lstm"), id="lstm"),
    pytest.param(dict(cell="lstm", recurrent_activation="hard_sigmoid"), id="lstm-hard"),
    pytest.param(dict(cell="gru", reset_after=True), id="gru-after"),
    pytest.param(dict(cell="gru", reset_after=False), id="gru-before"),
    pytest.param(dict(cell="gru", recurrent_activation="hard_sigmoid"), id="gru-hard"),
    pytest.param(dict(cell="clockwork", clock_periods=(1, 2)), id="clockwork"),
]

#: The same without the clockwork cell, whose layers need widths divisible by its number of
#: modules (tests/test_clockwork.py checks it on its own problems).
DENSE_CELL_OPTIONS = [p for p in CELL_OPTIONS if p.values[0]["cell"] != "clockwork"]
