"""The malloc arena limit the command line sets before anything runs."""

from __future__ import annotations

import platform

import pytest

from iroa.malloc import limit_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_takes_the_arena_limit() -> None:
    assert limit_arenas(1) is True
