"""skrnn.datasets: shapes, determinism, and the defining equations."""

import numpy as np
import pytest

from skrnn.datasets import make_adding_problem, make_mackey_glass, make_narma


def test_adding_problem_targets_are_the_marked_sums():
    X, y = make_adding_problem(50, 20, random_state=0)
    assert X.shape == (50, 20, 2) and y.shape == (50,)
    assert np.all(X[:, :, 1].sum(axis=1) == 2)
    np.testing.assert_allclose(y, (X[:, :, 0] * X[:, :, 1]).sum(axis=1))
    X2, y2 = make_adding_problem(50, 20, random_state=0)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="n_timesteps >= 2"):
        make_adding_problem(5, 1)


def test_narma10_follows_its_recursion():
    u, y = make_narma(300, random_state=1)
    assert u.shape == y.shape == (300,) and u.min() >= 0 and u.max() <= 0.5
    t = np.arange(9, 299)
    expected = np.array([0.3 * y[i] + 0.05 * y[i] * y[i - 9: i + 1].sum()
                         + 1.5 * u[i - 9] * u[i] + 0.1 for i in t])
    np.testing.assert_allclose(y[t + 1], expected, rtol=1e-12)
    assert np.all(np.isfinite(y))


def test_mackey_glass_is_the_chaotic_attractor():
    x = make_mackey_glass(1500, n_discard=300)
    assert x.shape == (1500,)
    # The tau=17 attractor lives in roughly [0.4, 1.35] and does not settle.
    assert 0.3 < x.min() < 0.6 and 1.2 < x.max() < 1.45 and x[-500:].std() > 0.15
    np.testing.assert_array_equal(x, make_mackey_glass(1500, n_discard=300))
    # A finer integration step gives nearly the same series (the integrator converges).
    fine = make_mackey_glass(200, dt=0.05, n_discard=0)
    np.testing.assert_allclose(fine, make_mackey_glass(200, n_discard=0), atol=1e-3)
    assert not np.array_equal(make_mackey_glass(100, random_state=0), x[:100])
    with pytest.raises(ValueError, match="multiple of dt"):
        make_mackey_glass(10, sample_step=0.25, dt=0.1)


@pytest.mark.parametrize("make", [make_mackey_glass, make_narma])
def test_bad_lengths_are_clear_errors(make):
    with pytest.raises(ValueError, match="n_timesteps must be a positive integer"):
        make(0)
    with pytest.raises(ValueError, match="n_timesteps must be a positive integer"):
        make(2.5)


def test_random_state_controls_every_generator():
    np.testing.assert_array_equal(make_narma(50, random_state=3)[0],
                                  make_narma(50, random_state=3)[0])
    assert not np.array_equal(make_narma(50, random_state=3)[0],
                              make_narma(50, random_state=4)[0])
    a = make_adding_problem(10, 8, random_state=np.random.RandomState(0))
    b = make_adding_problem(10, 8, random_state=0)
    np.testing.assert_array_equal(a[0], b[0])
