"""Writing an export file whole or not at all, readable by its owner and group only.

An export holds the whole inventory (names, addresses, notes): it is created
``rw-r-----`` (directories ``rwxr-x---``), never world-readable, whatever the umask.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o640
DIRECTORY_MODE = 0o750


@contextmanager
def atomic_file(path: Path, mode: str, **open_args: Any) -> Iterator[IO[Any]]:
    """A stream (``os.fdopen``'s ``mode`` and arguments) to a temporary file beside ``path``,
    renamed onto ``path`` when the block ends: a failed export leaves nothing behind."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory, not a file", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "no such directory", str(path.parent))
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_args) as stream:
            yield stream
        os.chmod(partial, FILE_MODE)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
