"""Sobol' indices as properties (issues 6, 12 and 13), of ``clustermodel.sobol.sobol_indices``.

    sobol_indices(model, problem, *, n, rng, replicates=..., chunk_size=...) -> result with arrays
    S1, ST of shape (n_outputs, n_factors), where model maps an (n_samples, n_factors) array to
    (n_samples, n_outputs) outputs and problem = {"num_vars", "names", "bounds"} (SALib's).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermodel import sobol as sensitivity

# every example runs a Sobol' design of thousands of model evaluations: a quarter of the profile's examples
SOBOL_SETTINGS = settings(max_examples=max(10, settings.default.max_examples // 4))

SHAPES = {
    "linear": lambda x: x,
    "keep": lambda x: x**2,
    "sine": lambda x: np.sin(2 * np.pi * x),
    "step": lambda x: (x > 0.3).astype(float),
}


def _problem(d):
    return {"num_vars": d, "names": [f"x{k}" for k in range(d)], "bounds": [[0.0, 1.0]] * d}


def _run(model, d, n, seed):
    res = sensitivity.sobol_indices(model, _problem(d), n=n, rng=seed, progress=False)
    return np.asarray(res.S1, dtype=float), np.asarray(res.ST, dtype=float)


additive_terms = st.lists(
    st.tuples(st.sampled_from(sorted(SHAPES)), st.floats(0.5, 3.0)),
    min_size=2,
    max_size=4,
)


@SOBOL_SETTINGS
@given(additive_terms, st.data(), st.integers(0, 2**32 - 1))
def test_a_factor_the_model_ignores_has_zero_indices(terms, data, seed):
    """Both outputs ignore factor j: f(A_B^j) = f(A) exactly, so (with the Saltelli 2010 S1 and Jansen
    ST estimators) its indices are exactly 0, and the factors that matter have positive ST."""
    d = len(terms) + 1
    j = data.draw(st.integers(0, d - 1), label="ignored factor")
    active = [k for k in range(d) if k != j]
    b = data.draw(st.floats(0.0, 2.0), label="interaction")

    def model(X):
        parts = [a * SHAPES[shape](X[:, k]) for (shape, a), k in zip(terms, active)]
        additive = np.sum(parts, axis=0)
        return np.column_stack([additive, additive + b * X[:, active[0]] * X[:, active[-1]]])

    S1, ST = _run(model, d, 1024, seed)
    assert S1.shape == ST.shape == (2, d)
    np.testing.assert_allclose(S1[:, j], 0.0, atol=1e-9)
    np.testing.assert_allclose(ST[:, j], 0.0, atol=1e-9)
    assert np.all(ST[:, active] > 0)


@SOBOL_SETTINGS
@given(additive_terms, st.integers(0, 2**32 - 1))
def test_an_additive_model_has_first_order_equal_to_total_indices(terms, seed):
    """Without interactions every factor's total effect is its first-order effect, and they sum to one.
    The tolerance covers the sampling error at n = 4096 per design (SALib's estimators on a scrambled Sobol'
    design stay within 0.003 over 150 random additive models; plain Monte Carlo within about 0.02)."""
    d = len(terms)

    def model(X):
        return np.sum([a * SHAPES[shape](X[:, k]) for k, (shape, a) in enumerate(terms)], axis=0)[:, None]

    S1, ST = _run(model, d, 4096, seed)
    assert S1.shape == ST.shape == (1, d)
    np.testing.assert_allclose(S1, ST, atol=0.05)
    assert ST.sum() == pytest.approx(1.0, abs=0.08)
    assert S1.sum() == pytest.approx(1.0, abs=0.08)


@SOBOL_SETTINGS
@given(additive_terms, st.integers(0, 2**32 - 1))
def test_the_same_seed_gives_the_same_indices(terms, seed):
    d = len(terms)

    def model(X):
        return np.sum([a * SHAPES[shape](X[:, k]) for k, (shape, a) in enumerate(terms)], axis=0)[:, None]

    a = _run(model, d, 256, seed)
    b = _run(model, d, 256, seed)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@SOBOL_SETTINGS
@given(additive_terms, st.integers(1, 64), st.integers(2, 4), st.integers(0, 2**32 - 1))
def test_the_chunk_size_does_not_change_the_indices(terms, chunk, replicates, seed):
    """The streamed reduction adds the same sums in a different grouping: equal to 1e-12 for any chunk size."""
    d = len(terms)

    def model(X):
        y = np.sum([a * SHAPES[shape](X[:, k]) for k, (shape, a) in enumerate(terms)], axis=0)
        return np.column_stack([y, y * X[:, 0], np.exp(y)])

    kw = dict(n=64, replicates=replicates, rng=seed, progress=False, convergence_levels=2)
    one = sensitivity.sobol_indices(model, _problem(d), chunk_size=64, **kw)
    many = sensitivity.sobol_indices(model, _problem(d), chunk_size=chunk, **kw)
    for key in ("S1", "ST", "S1_low", "ST_high", "output_mean"):
        np.testing.assert_allclose(getattr(many, key), getattr(one, key), rtol=0, atol=1e-12)
    np.testing.assert_allclose(many.convergence["S1"], one.convergence["S1"], rtol=0, atol=1e-12)
    # the estimate is the mean of the designs' estimates, and its interval is centred on it
    np.testing.assert_allclose(one.S1, one.S1_replicates.mean(axis=0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(one.ST_high + one.ST_low, 2 * one.ST, rtol=0, atol=1e-12)
