"""Scale-out on a real engine: a ``distributed.LocalCluster`` of worker processes on loopback.

Grid search through joblib's Dask backend must give the same scores as ``n_jobs=1``;
``partial_fit`` must drive training block by block through dask-ml's ``Incremental``
(2-D blocks) or a chain of ``dask.delayed`` calls (3-D blocks); the workers' BLAS and
OpenMP pools must have one thread each, so two single-threaded workers on two cores do not
oversubscribe them.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import dask  # noqa: E402
import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skrnn import LSTMRegressor, RNNClassifier  # noqa: E402
from skrnn.preprocessing import SequenceScaler  # noqa: E402

#: One thread per BLAS/OpenMP pool in every worker process. distributed's nanny already sets
#: these by default (``distributed.nanny.pre-spawn-environ``); passing them explicitly keeps
#: the guarantee if that default changes. They must be set before the worker imports NumPy.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env=SINGLE_THREADED,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _worker_thread_pools():
    from threadpoolctl import threadpool_info

    return [(pool["user_api"], pool["num_threads"]) for pool in threadpool_info()]


def test_cluster_on_loopback_with_single_threaded_blas(client):
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    addresses = [client.scheduler.address] + list(info["workers"])
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    pools = client.run(_worker_thread_pools)
    assert len(pools) == 2
    for worker_pools in pools.values():
        assert worker_pools, "NumPy's BLAS should be visible to threadpoolctl"
        assert all(n == 1 for _, n in worker_pools), worker_pools


def _sequences(seed=0, n=48):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


def _grid_scores(search, X, y, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: deliberately short fits
        if backend is None:
            search.fit(X, y)
        else:
            with joblib.parallel_backend(backend):
                search.fit(X, y)
    return search


def test_grid_search_dask_backend_equals_serial(client):
    X, y = _sequences()
    grid = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate_init": [0.01, 0.03]}
    est = RNNClassifier(max_iter=8, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    serial = _grid_scores(GridSearchCV(est, grid, cv=cv, n_jobs=1), X, y, None)
    with distributed.get_task_stream(client) as stream:
        dist = _grid_scores(GridSearchCV(est, grid, cv=cv, n_jobs=-1), X, y, "dask")
    # the fits ran as tasks on the cluster's workers (joblib batches them, so no exact count)
    assert stream.data
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])
    assert_allclose(dist.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"],
                    rtol=0, atol=1e-12)
    assert dist.best_params_ == serial.best_params_
    assert_array_equal(dist.predict(X), serial.predict(X))


def test_grid_search_dask_backend_ragged_pipeline(client):
    rng = np.random.default_rng(1)
    X = [50.0 + 10.0 * rng.standard_normal((int(L), 2)) for L in rng.integers(3, 9, size=40)]
    y = np.array([s[:, 0].mean() - 50.0 for s in X])
    pipe = make_pipeline(SequenceScaler(), LSTMRegressor(max_iter=6, random_state=0))
    grid = {"lstmregressor__hidden_layer_sizes": [(4,), (6,)]}
    serial = _grid_scores(GridSearchCV(pipe, grid, cv=3, n_jobs=1), X, y, None)
    dist = _grid_scores(GridSearchCV(pipe, grid, cv=3, n_jobs=-1), X, y, "dask")
    assert_allclose(dist.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"],
                    rtol=0, atol=1e-12)


def _regression_blocks(n=400, n_blocks=4):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    chunk = n // n_blocks
    return X, y, da.from_array(X, chunks=(chunk, 3)), da.from_array(y, chunks=chunk)


def test_dask_ml_incremental_regressor(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y, dX, dy = _regression_blocks()
    base = LSTMRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.05, random_state=0)
    inc = wrappers.Incremental(base, shuffle_blocks=False)
    inc.fit(dX, dy)  # one partial_fit (= one epoch) per block, run on the workers
    assert len(inc.estimator_.loss_curve_) == 4
    first = r2_score(y, inc.predict(dX).compute())
    for _ in range(3):  # further passes continue from the state reached
        inc.partial_fit(dX, dy)
    assert len(inc.estimator_.loss_curve_) == 16
    pred = inc.predict(dX).compute()
    assert np.isfinite(pred).all()
    last = r2_score(y, pred)
    assert last > first and last > 0.8, (first, last)
    # The same partial_fit calls on the same blocks, in this process, give the same model.
    local = clone(base)
    for _ in range(4):
        for i in range(0, 400, 100):
            local.partial_fit(X[i: i + 100], y[i: i + 100])
    assert len(local.loss_curve_) == 16
    assert_allclose(local.predict(X), pred, rtol=1e-12, atol=1e-12)


def test_dask_ml_incremental_classifier(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y, dX, _ = _regression_blocks()
    labels = np.where(y > 0, "pos", "neg")
    dlabels = da.from_array(labels, chunks=100)
    inc = wrappers.Incremental(
        RNNClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, random_state=0),
        shuffle_blocks=False)
    for _ in range(3):
        inc.partial_fit(dX, dlabels, classes=["neg", "pos"])
    assert len(inc.estimator_.loss_curve_) == 12
    assert_array_equal(inc.estimator_.classes_, ["neg", "pos"])
    assert (inc.predict(dX).compute() == labels).mean() > 0.9


def _partial_fit(model, X, y):
    model.partial_fit(X, y)
    return model


def test_delayed_partial_fit_on_3d_blocks(client):
    # dask-ml's Incremental indexes blocks as (i, 0), so it takes 2-D arrays only; 3-D
    # sequence batches go through the same chain of tasks written with dask.delayed.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((160, 5, 2))
    y = X[:, :, 0].sum(axis=1)
    dX = da.from_array(X, chunks=(40, 5, 2))
    dy = da.from_array(y, chunks=40)
    base = LSTMRegressor(hidden_layer_sizes=(6,), learning_rate_init=0.05, random_state=0)
    model = base
    for xb, yb in zip(dX.to_delayed().ravel(), dy.to_delayed().ravel()):
        model = dask.delayed(_partial_fit)(model, xb, yb)
    fitted = model.compute()
    assert len(fitted.loss_curve_) == 4
    local = clone(base)
    for i in range(0, 160, 40):
        local.partial_fit(X[i: i + 40], y[i: i + 40])
    assert_allclose(fitted.predict(X), local.predict(X), rtol=1e-12, atol=1e-12)
