"""The recurrent cells, one module each, behind the interface of :class:`~skrnn.cells.base.Cell`.

``CELLS`` maps a cell name to a factory ``(config, layer) -> Cell``;
:func:`make_cell` resolves a :class:`~skrnn._bptt.RecurrentConfig`'s ``cell``, which is
either such a name or a :class:`~skrnn.cells.base.Cell` subclass defined anywhere (that is
how a cell is added from outside the package).
"""

from .base import BackwardState, Cell, Trace
from .clockwork import ClockworkCell
from .gru import GRUCell, GRUResetBeforeCell, make_gru
from .lstm import LSTMCell
from .rnn import RNNCell

__all__ = ["CELLS", "Cell", "Trace", "BackwardState", "make_cell", "RNNCell", "LSTMCell",
           "GRUCell", "GRUResetBeforeCell", "ClockworkCell"]

CELLS = {
    "rnn": RNNCell,
    "lstm": LSTMCell,
    "gru": make_gru,
    "clockwork": ClockworkCell,
}


def make_cell(config, layer):
    """The cell object of layer ``layer`` of ``config``.

    Parameters
    ----------
    config : RecurrentConfig
    layer : int

    Returns
    -------
    cell : Cell
    """
    spec = config.cell
    if isinstance(spec, str):
        if spec not in CELLS:
            raise ValueError(f"Unknown cell {spec!r}; expected one of {sorted(CELLS)} or a "
                             "subclass of skrnn.cells.Cell.")
        return CELLS[spec](config, layer)
    if isinstance(spec, type) and issubclass(spec, Cell):
        return spec(config, layer)
    raise TypeError(f"cell must be a name in {sorted(CELLS)} or a subclass of "
                    f"skrnn.cells.Cell; got {spec!r}.")
