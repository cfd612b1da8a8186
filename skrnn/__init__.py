"""skrnn: scikit-learn compatible recurrent neural networks in NumPy and SciPy."""

from . import metrics, preprocessing
from ._classifier import RNNClassifier
from ._regressor import LSTMRegressor
from ._tagger import GRUTagger

__version__ = "0.1.0.dev0"

__all__ = [
    "GRUTagger",
    "LSTMRegressor",
    "RNNClassifier",
    "metrics",
    "preprocessing",
    "__version__",
]
