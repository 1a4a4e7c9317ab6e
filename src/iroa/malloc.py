"""One process-wide memory setting: how many malloc arenas glibc may keep."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_arenas(count: int = 1) -> bool:
    """Let glibc's malloc keep at most ``count`` arenas; whether it took the setting.

    glibc gives each thread that allocates while another does an arena of its own, and
    memory freed in one is reused by that thread only. A full read runs in several
    threads (the read, its prefetch, the datastore search) while the GIL lets one run
    Python at a time, so more arenas buy no speed: with one, a 20,000-VM ``iroa sync``
    peaks about 8 MB lower (``benchmarks/sync_vcenter.py``). Elsewhere (musl, macOS)
    this does nothing.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    taken = bool(mallopt(_M_ARENA_MAX, count))
    log.debug("malloc arenas limited to %d: %s", count, taken)
    return taken
