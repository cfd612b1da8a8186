"""skrnn: scikit-learn compatible recurrent neural networks in NumPy and SciPy."""

from . import datasets, metrics, preprocessing
from ._classifier import RNNClassifier
from ._esn import EchoStateRegressor
from ._esn_features import EchoStateClassifier, EchoStateTransformer
from ._regressor import LSTMRegressor
from ._seq2seq import Seq2SeqRegressor
from ._step_regressor import GRUStepRegressor
from ._tagger import GRUTagger

__version__ = "0.1.0.dev0"

__all__ = [
    "EchoStateClassifier",
    "EchoStateRegressor",
    "EchoStateTransformer",
    "GRUStepRegressor",
    "GRUTagger",
    "LSTMRegressor",
    "RNNClassifier",
    "Seq2SeqRegressor",
    "datasets",
    "metrics",
    "preprocessing",
    "__version__",
]
