"""The scheduling shared by the streaming estimators (Sobol' and the bootstraps): local threads or a dask.distributed
client, and how many chunks can be in memory at once."""

from __future__ import annotations

import os

from clustermodel._errors import ClusterModelError

__all__ = ["workers", "client_iv", "CONNECT_TIMEOUT"]

#: How long to wait for a scheduler named by its address.
CONNECT_TIMEOUT = "10s"


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
