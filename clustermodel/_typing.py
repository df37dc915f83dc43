"""Type aliases of the public API: what the loaders and analyses accept.

Names that would need heavy imports (xarray, the Study) are forward references, so importing this module costs
nothing beyond numpy's typing helpers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias, Union

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import xarray as xr

    from clustermodel.data import Study
    from clustermodel.structure import Structure

__all__ = ["ArrayLike", "PathLike", "RNGLike", "DataLike", "WeightsLike"]

#: A file path: a string or any ``os.PathLike`` (``pathlib.Path``).
PathLike: TypeAlias = Union[str, "os.PathLike[str]"]

#: What ``rng=`` accepts: a Generator, a SeedSequence, a non-negative integer seed, or None (fresh entropy).
RNGLike: TypeAlias = Union[np.random.Generator, np.random.SeedSequence, int, None]

#: The data of an index: a Study, a Dataset with ``indicators`` (unit, indicator), or that DataArray itself.
DataLike: TypeAlias = Union["Study", "xr.Dataset", "xr.DataArray"]

#: Weights: a Structure, a DataArray with a ``node`` or ``indicator`` dimension (plus batch dimensions), a mapping
#: node -> weight, or an array whose last axis follows the structure's weighted nodes; None for the structure's own.
WeightsLike: TypeAlias = Union["Structure", "xr.DataArray", Mapping[str, float], ArrayLike, None]
