"""The error model: step sizes and tolerances, in one place.

Every tolerance the harness applies is ``safety * (fd_error + rounding)``, where

* ``fd_error`` is estimated for each comparison from the finite differences themselves:
  central differences at three steps t, t/2, t/4 (truncation error ~ c t^2), two Richardson
  extrapolations from them (error ~ t^4), and their difference as the truncation estimate
  (as ``scipy.differentiate`` does), plus a round-off term ``kappa * eps_oracle * |f| / t``;
* ``rounding`` is what the implementation under test may lose in its own dtype:
  ``c_rel * eps * sum |v||J|`` (rounding of the products and sums that form the VJP) plus the
  *output-scale* term ``c_out * eps * sum |v||A|``: a backward formula evaluated from the
  rounded output ``A`` (sigmoid's ``A (1 - A)``, tanh's ``1 - A^2``) cannot be more accurate
  than ``A`` itself. ``strict=True`` drops the output-scale term, so rounding-limited results
  such as float32 sigmoid' = 0 for z >= 17 are flagged. Finally ``c_tiny * tiny * sum |v|``
  allows for underflow: a derivative below the dtype's smallest normal number (float32
  sigmoid' at z = -700 is 1e-304) cannot be represented, so returning 0 there is not a bug.

Rounding that depends on the input's magnitude (softmax evaluates ``exp(z - max)``, whose
argument carries an absolute error of ``eps * |max|``) is measured rather than modelled: the
forward, and the VJP or JVP under test, are evaluated once more at the input perturbed by a
few ulps, and ``c_noise`` times the change is added to the round-off of the oracle and to the
implementation's allowance respectively. A backward-stable implementation errs by about what a
few-ulp change of its input does.

Steps are chosen per dtype of the oracle (the forward evaluated in float64) and realised as
``(z + h) - (z - h)``, never assumed.

Issue 9's rules (docs/error-model.md): the forward's noise is *measured* (harness.noise,
Moré and Wild's ECnoise) and a flat forward is "no information", not zero noise; the
output-scale term is bounded by what the forward's rounding can do to the derivative
(``harness.noise.derivative_rounding`` and ``Context.policy``), and comparisons that pass
only through it are *rounding-limited*; a comparison whose tolerance (without that term) is
not clearly below the scale compared (``RESOLUTION``), or whose error model overflowed, is
*unresolved*: counted, never failed, never the worst comparison of a pass, and failed under
``strict``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_MODEL", "RESOLUTION", "ErrorModel", "eps_of"]

RESOLUTION = 0.5
"""A comparison is resolved only if its tolerance (without the rounding policy) is below this
fraction of the scale compared; otherwise it carries no information and is *unresolved*."""


def eps_of(dtype: np.dtype[np.floating] | type | str) -> float:
    """Machine epsilon of a floating dtype."""
    return float(np.finfo(np.dtype(dtype)).eps)


@dataclass(frozen=True)
class ErrorModel:
    """Constants of the error model (see the module docstring).

    Attributes
    ----------
    step_exponent : float
        Largest central-difference step is ``eps**step_exponent * max(1, |z|)``. With two
        Richardson extrapolations the truncation error is O(t^4) and round-off O(eps / t), so
        the balance is near ``eps**(1/5)``.
    one_sided_exponent : float
        Step exponent of one-sided differences at a kink (error O(t) after one extrapolation
        of O(t^2), round-off O(eps / t)).
    kappa : float
        Round-off of one forward evaluation, in ulps of its output.
    c_rel, c_out : float
        Implementation rounding, in units of ``eps * sum |v||J|`` and ``eps * sum |v||A|``.
    c_tiny : float
        Underflow allowance, in units of the dtype's smallest normal number times ``sum |v|``.
    c_noise, noise_ulps : float
        The input is perturbed by ``noise_ulps`` ulps per entry (random signs) to measure how
        much rounding of the input moves the result; ``c_noise`` times that change is allowed.
    safety : float
        Factor between the estimated error and the tolerance.
    """

    step_exponent: float = 0.2
    one_sided_exponent: float = 1.0 / 3.0
    kappa: float = 4.0
    c_rel: float = 8.0
    c_out: float = 4.0
    c_tiny: float = 8.0
    c_noise: float = 4.0
    noise_ulps: float = 4.0
    safety: float = 4.0

    def base_step(self, oracle_dtype: np.dtype[np.floating]) -> float:
        """Relative step of the largest central-difference level."""
        return float(eps_of(oracle_dtype) ** self.step_exponent)

    def one_sided_step(self, oracle_dtype: np.dtype[np.floating]) -> float:
        """Relative step of one-sided differences (used at kinks)."""
        return float(eps_of(oracle_dtype) ** self.one_sided_exponent)

    def summation_factor(self, length: int) -> float:
        """Growth of rounding error in a sum of ``length`` terms (pairwise summation)."""
        return 1.0 + float(np.log2(max(length, 1)))


DEFAULT_MODEL = ErrorModel()
