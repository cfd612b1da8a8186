"""The ridge readout of a reservoir, solved from named sufficient statistics.

:class:`RidgeStatistics` accumulates, over any number of chunks of rows, the weighted mean of
the features and of the targets and the weighted *centred* cross-products
:math:`\\sum w (f - \\bar f)(f - \\bar f)^T` and :math:`\\sum w (f - \\bar f)(y - \\bar y)^T`.
Chunks are merged with the pairwise update of Chan, Golub and LeVeque, so the result does not
depend on how the rows were split (several sequences, ``partial_fit``, bounded-memory
chunks), and it stays accurate when the features carry a large offset: uncentred sums
:math:`\\sum w f f^T` minus :math:`W \\bar f \\bar f^T` lose every digit of a variance of 1 at
an offset of 1e6, centred ones lose none.
"""

import numpy as np
import scipy.linalg

__all__ = ["RidgeStatistics"]


class RidgeStatistics:
    """Weighted, centred sufficient statistics of a linear readout, and its ridge solve.

    Parameters
    ----------
    n_features : int
        Features per row (``p``).
    n_targets : int
        Targets per row (``k``).

    Attributes
    ----------
    weight : float
        Total weight of the rows seen.
    mean_f : ndarray of shape (n_features,)
        Weighted mean of the features.
    mean_y : ndarray of shape (n_targets,)
        Weighted mean of the targets.
    cov_ff : ndarray of shape (n_features, n_features)
        :math:`\\sum_i w_i (f_i - \\bar f)(f_i - \\bar f)^T`.
    cov_fy : ndarray of shape (n_features, n_targets)
        :math:`\\sum_i w_i (f_i - \\bar f)(y_i - \\bar y)^T`.
    ss_y : ndarray of shape (n_targets,)
        :math:`\\sum_i w_i (y_i - \\bar y)^2`, per target.
    """

    def __init__(self, n_features, n_targets):
        self.weight = 0.0
        self.mean_f = np.zeros(n_features)
        self.mean_y = np.zeros(n_targets)
        self.cov_ff = np.zeros((n_features, n_features))
        self.cov_fy = np.zeros((n_features, n_targets))
        self.ss_y = np.zeros(n_targets)

    @property
    def var_y(self):
        """Weighted variance of each target."""
        return self.ss_y / self.weight if self.weight > 0 else self.ss_y

    def update(self, F, Y, w=None):
        """Add rows ``F`` (m, p) with targets ``Y`` (m, k) and optional weights ``w`` (m,).

        ``F`` is centred in place: pass a copy you own (the callers build one anyway, to
        select the kept rows and place the input beside the states). The products always
        run in float64, even for float32 states: a float32 Gram matrix was measured to
        raise the Mackey-Glass one-step NRMSE from 3.2e-5 to 9.1e-3 (500 units,
        ``alpha=1e-10``; 2.5e-4 to 9.8e-2 at ``alpha=1e-6``), while float32 states with
        float64 statistics cost nothing measurable (``benchmarks/ESN_RESULTS.md``).
        """
        F = np.asarray(F, dtype=np.float64)  # a float32 block is copied once, here
        Y = np.asarray(Y, dtype=np.float64)
        if F.shape[0] == 0:  # a block entirely inside the washout
            return self
        if w is None:
            weight = float(F.shape[0])
            mean_f = F.mean(axis=0, dtype=np.float64)
            mean_y = Y.mean(axis=0)
        else:
            w = np.asarray(w, dtype=np.float64)
            weight = float(w.sum())
            if weight <= 0:
                return self
            mean_f = (w @ F) / weight
            mean_y = (w @ Y) / weight
        if weight <= 0:
            return self
        F -= mean_f
        Yc = Y - mean_y
        if w is None:
            ss_y = np.einsum("ik,ik->k", Yc, Yc)
            cov_ff = F.T @ F  # one symmetric rank-k update
            cov_fy = F.T @ Yc
        else:
            ss_y = w @ (Yc * Yc)
            root = np.sqrt(w)[:, None]
            F *= root
            cov_ff = F.T @ F
            cov_fy = F.T @ (Yc * root)
        return self._merge(weight, mean_f, mean_y, cov_ff, cov_fy, ss_y)

    def merge(self, other):
        """Add the rows summarised by another :class:`RidgeStatistics`."""
        return self._merge(other.weight, other.mean_f, other.mean_y, other.cov_ff,
                           other.cov_fy, other.ss_y)

    def _merge(self, weight, mean_f, mean_y, cov_ff, cov_fy, ss_y):
        if weight <= 0:
            return self
        total = self.weight + weight
        d_f, d_y = mean_f - self.mean_f, mean_y - self.mean_y
        c = self.weight * weight / total
        self.cov_ff += cov_ff
        self.cov_ff += c * np.outer(d_f, d_f)
        self.cov_fy += cov_fy
        self.cov_fy += c * np.outer(d_f, d_y)
        self.ss_y += ss_y + c * d_y * d_y
        self.mean_f += d_f * (weight / total)
        self.mean_y += d_y * (weight / total)
        self.weight = total
        return self

    def solve(self, alpha):
        """Ridge readout with an unpenalised intercept, as :class:`sklearn.linear_model.Ridge`.

        Parameters
        ----------
        alpha : float
            Penalty on the coefficients.

        Returns
        -------
        coef : ndarray of shape (n_targets, n_features)
        intercept : ndarray of shape (n_targets,)
        """
        if self.weight <= 0:
            raise ValueError("No time step with positive weight is left after the washout; "
                             "lower washout or check sample_weight.")
        A = self.cov_ff.copy()
        A[np.diag_indices_from(A)] += alpha
        try:
            coef = scipy.linalg.solve(A, self.cov_fy, assume_a="pos", check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            # Singular without a ridge (alpha=0 and collinear features): least squares.
            coef = scipy.linalg.lstsq(A, self.cov_fy)[0]
        return np.ascontiguousarray(coef.T), self.mean_y - self.mean_f @ coef
