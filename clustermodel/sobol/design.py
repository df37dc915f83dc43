"""The design: independent scrambled Sobol' sequences (one per replicate) and :func:`sobol_sample`."""

from __future__ import annotations

import copy
import warnings

import numpy as np

from clustermodel._validation import check_positive_int
from clustermodel.sobol._checks import _n_iv, _problem_iv, _rng_iv
from clustermodel.sobol.constants import _WARNINGS_LOCK


# --------------------------------------------------------------------------------------------
# The design
# --------------------------------------------------------------------------------------------


class _Designs:
    """R scrambled Sobol' engines of dimension 2D; rows of any range of any design on demand.

    Replicate r's design is SALib's ``sample(problem, N, calc_second_order=False,
    seed=stream_r)`` for the r-th stream spawned from the generator, built without SALib's
    Python loop: a range of rows is the engine fast-forwarded to its start.
    """

    def __init__(self, d, lower, upper, streams):
        from scipy.stats import qmc

        self.d = d
        self.lower = np.concatenate([lower, lower])
        self.width = np.concatenate([upper - lower, upper - lower])
        self.engines = [qmc.Sobol(d=2 * d, scramble=True, rng=s) for s in streams]

    @property
    def replicates(self) -> int:
        return len(self.engines)

    def base(self, r, lo, hi) -> np.ndarray:
        """Scaled base points ``[A | B]`` of rows ``lo..hi-1`` of design ``r``, shape (hi - lo, 2D)."""
        eng = copy.deepcopy(self.engines[r])
        if lo:
            eng.fast_forward(lo)
        # A chunk ends where the design does not (the design as a whole is a power of two): scipy's
        # balance warning does not apply. The lock keeps threads from interleaving warning filters.
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The balance properties of Sobol' points", category=UserWarning)
            pts = eng.random(hi - lo)
        np.multiply(pts, self.width, out=pts)  # SALib's scale_samples, same operations
        np.add(pts, self.lower, out=pts)
        return pts

    def rows(self, r, lo, hi) -> np.ndarray:
        """Saltelli rows ``A_i, AB_i1, ..., AB_iD, B_i`` for i in lo..hi-1, shape ((hi-lo)(D+2), D)."""
        d = self.d
        pts = self.base(r, lo, hi)
        a, b = pts[:, :d], pts[:, d:]
        x = np.repeat(a[:, None, :], d + 2, axis=1)
        j = np.arange(d)
        x[:, 1 + j, j] = b
        x[:, d + 1, :] = b
        return x.reshape(-1, d)


def sobol_sample(problem, n, *, replicates=None, rng=None, seed=None) -> np.ndarray:
    """Saltelli design(s) on scrambled Sobol' sequences (``calc_second_order=False`` layout).

    Parameters
    ----------
    problem : dict
        SALib problem: ``num_vars``, ``names``, ``bounds`` (uniform factors).
    n : int
        Base sample size N of each design, a power of two.
    replicates : int, optional
        None: one design drawn from ``rng`` itself. R: R independent designs, one per stream of
        ``rng.spawn(R)`` -- the designs :func:`sobol_indices` evaluates for the same ``rng``.
    rng : numpy.random.Generator, int or None
        Normalised once with :func:`numpy.random.default_rng`.
    seed : numpy.random.Generator, int or None
        SALib's name for ``rng``; give one or the other.

    Returns
    -------
    ndarray
        Shape (N (D + 2), D) for one design, (R, N (D + 2), D) for R designs. Row blocks
        ``A_i, AB_i1, ..., AB_iD, B_i``.

    Notes
    -----
    One design equals ``SALib.sample.sobol.sample(problem, N, calc_second_order=False,
    seed=g)`` for the same generator ``g`` (tested). SALib hands an *integer* seed to scipy's
    legacy ``seed=`` path, which draws the scramble from a ``RandomState``: to repeat a design
    with SALib pass ``seed=numpy.random.default_rng(s)`` rather than ``seed=s``. The first
    n' (D + 2) rows of a design of size N are the design of size n' (the sequence is
    extensible); the convergence study uses this.

    References
    ----------
    Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical models and their
    Monte Carlo estimates. Mathematics and Computers in Simulation 55(1-3), 271-280.
    https://doi.org/10.1016/S0378-4754(00)00270-6

    Examples
    --------
    >>> from clustermodel.sobol import ISHIGAMI_PROBLEM
    >>> sobol_sample(ISHIGAMI_PROBLEM, 8, rng=1).shape
    (40, 3)
    >>> sobol_sample(ISHIGAMI_PROBLEM, 8, replicates=4, rng=1).shape
    (4, 40, 3)
    """
    _, d, lower, upper = _problem_iv(problem)
    n = _n_iv(n)
    gen, _ = _rng_iv(rng, seed)
    if replicates is None:
        return _Designs(d, lower, upper, [gen]).rows(0, 0, n)
    replicates = check_positive_int(replicates, "replicates")
    designs = _Designs(d, lower, upper, gen.spawn(replicates))
    return np.stack([designs.rows(r, 0, n) for r in range(replicates)])


