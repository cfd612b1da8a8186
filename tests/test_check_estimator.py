"""scikit-learn's own estimator checks, every one of them, with nothing expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skrnn import (
    EchoStateClassifier,
    EchoStateRegressor,
    EchoStateTransformer,
    GRUStepRegressor,
    GRUTagger,
    LSTMRegressor,
    RNNClassifier,
    Seq2SeqRegressor,
)

ESTIMATORS = [RNNClassifier(), LSTMRegressor(), GRUTagger(), GRUStepRegressor(),
              Seq2SeqRegressor(), EchoStateRegressor(), EchoStateClassifier(),
              EchoStateTransformer()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
