"""Which of scikit-learn's estimator checks the trained estimators fail with
``dtype="float32"``, and by how much.

Runs the checks that compare two fits or the predictions' type; prints one line per
estimator and check. ``python benchmarks/float32_checks.py``; the training page of the
docs quotes its output.
"""

import re
import warnings

from sklearn.utils import estimator_checks

from skrnn import GRUTagger, LSTMRegressor, RNNClassifier

CHECKS = [estimator_checks.check_sample_weight_equivalence_on_dense_data,
          estimator_checks.check_regressor_multioutput,
          estimator_checks.check_fit_idempotent,
          estimator_checks.check_methods_sample_order_invariance,
          estimator_checks.check_methods_subset_invariance]


def main():
    warnings.simplefilter("ignore")
    for est in (RNNClassifier(dtype="float32"), LSTMRegressor(dtype="float32"),
                GRUTagger(dtype="float32")):
        name = type(est).__name__
        for check in CHECKS:
            if check is estimator_checks.check_regressor_multioutput and name != "LSTMRegressor":
                continue
            try:
                check(name, est)
                result = "passed"
            except AssertionError as e:
                diffs = re.findall(r"Max (absolute|relative) difference among violations: "
                                   r"(\S+)", str(e))
                result = "FAILED " + (", ".join(f"max {k} difference {v}" for k, v in diffs)
                                      or str(e).strip().splitlines()[0])
            print(f"{name:14s} {check.__name__:48s} {result}")


if __name__ == "__main__":
    main()
