"""The scheduling shared by the streaming estimators (Sobol' and the bootstraps): local threads or a dask.distributed
client, and how many chunks can be in memory at once."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from clustermodel._errors import ClusterModelError

__all__ = ["workers", "client_iv", "memory_limit_iv", "default_memory_limit", "one_blas_thread", "progress_bar", "CONNECT_TIMEOUT", "MEMORY_SHARE"]

#: How long to wait for a scheduler named by its address.
CONNECT_TIMEOUT = "10s"


def progress_bar(*, total: int, desc: str, progress: bool):
    """The chunk engines' progress bar: tqdm's notebook widget where Jupyter can draw one, its text bar otherwise.

    ``tqdm.auto`` picks the widget in any notebook and, without ipywidgets installed, warns "IProgress not found" on
    every run; here the widget is used only when ipywidgets imports, so a notebook without it gets the text bar and
    no warning. Shown only when ``progress`` is true and standard error is a terminal or a notebook (tqdm's
    ``disable=None``).
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(total=total, disable=None if progress else True, desc=desc, unit="chunk", leave=False)


def one_blas_thread():
    """A context in which BLAS (numpy's matrix products) runs on one thread, for chunks run on local threads.

    Each worker thread already has a core; a BLAS that also starts a thread per core puts two threads on every core,
    and they wait on each other: the Sobol' stage of a 2000-unit study ran 1.6x slower on two cores. threadpoolctl
    sets and restores the limit of whichever BLAS numpy loaded.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


#: The share of the memory this process may use (the machine's, or its container's limit) that an analysis takes
#: when no ``memory_limit`` is given; dask's ``memory_limit="auto"`` likewise divides the machine among its workers.
MEMORY_SHARE = 0.25
#: The smallest default budget, for machines with little memory.
MEMORY_FLOOR = 512 * 2**20


def default_memory_limit() -> int:
    """The default memory budget: :data:`MEMORY_SHARE` of the memory available to this process, at least
    :data:`MEMORY_FLOOR` (dask.distributed's ``memory_limit()``, which reads cgroup and rlimit limits)."""
    from distributed.system import memory_limit

    return max(MEMORY_FLOOR, int(MEMORY_SHARE * memory_limit()))


def memory_limit_iv(memory_limit, default: int | None = None) -> int:
    """A memory budget in bytes from a number or a size string such as '512MiB' (``default`` where None, else
    :func:`default_memory_limit`)."""
    if memory_limit is None:
        return default_memory_limit() if default is None else default
    if isinstance(memory_limit, str):
        from dask.utils import parse_bytes

        try:
            value = parse_bytes(memory_limit)
        except (ValueError, TypeError):
            raise ClusterModelError(
                f"`memory_limit` must be a number of bytes or a size such as '512MiB' or '2GiB', got {memory_limit!r}"
            ) from None
    elif isinstance(memory_limit, numbers.Real) and not isinstance(memory_limit, (bool, np.bool_)):
        value = memory_limit
    else:
        raise ClusterModelError(
            f"`memory_limit` must be a number of bytes or a size such as '512MiB', got {type(memory_limit).__name__}"
        )
    if not (math.isfinite(value) and value > 0):
        raise ClusterModelError(f"`memory_limit` must be positive, got {memory_limit!r}")
    return int(value)


def workers(client) -> int:
    """Chunks evaluated at once in one process: the local threads, or the most threads of one distributed worker
    (each worker process holds its own chunks, so this is what bounds one process's memory)."""
    if client is None:
        import dask

        n = dask.config.get("num_workers", None)
        if n:
            return int(n)
        try:
            return len(os.sched_getaffinity(0)) or 1
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    try:
        return max(1, max(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a client without workers yet
        return 1


def client_iv(client):
    """None (local threads), a dask.distributed Client, or a scheduler address -> (client, owned)."""
    if client is None:
        return None, False
    if isinstance(client, str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise ClusterModelError("`client` as a scheduler address needs dask.distributed; pip install distributed") from None
        try:
            return Client(client, timeout=CONNECT_TIMEOUT), True
        except (OSError, TimeoutError) as exc:
            raise ClusterModelError(f"`client`: cannot reach the dask scheduler at {client!r} ({exc}); check the address") from None
    if not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise ClusterModelError(
            f"`client` must be a dask.distributed Client or a scheduler address such as 'tcp://host:8786', "
            f"got {type(client).__name__}"
        )
    return client, False
