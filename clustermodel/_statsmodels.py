"""The four statsmodels names the relationship tests use, imported from their own modules.

``statsmodels.api`` imports every model family, the formula machinery, time series and the plotting helpers (0.4 s of
a report's start); these are the same classes, so the numbers are the same.
"""

from statsmodels.regression.linear_model import OLS, WLS
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.tools.tools import add_constant

__all__ = ["OLS", "WLS", "MixedLM", "add_constant"]
