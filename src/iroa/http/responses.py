"""Responses both front ends send: JSON rendered by orjson, exported files, streamed CSV."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Generator
from itertools import chain
from pathlib import Path
from typing import Any

import anyio
import orjson
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from iroa.db.base import utcnow

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class FastJSONResponse(JSONResponse):
    """A :class:`JSONResponse` whose body orjson renders, several times faster.

    The JSON is what ``JSONResponse`` would send (UTF-8, no spaces, keys that
    are not strings, such as counts keyed by a nullable value, as their JSON
    text); handlers that return it keep their ``response_model``, which then
    only documents the answer: FastAPI neither validates nor re-encodes a
    returned response.
    """

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            # A key that is not a plain str: orjson's option for those is slower on
            # every dict, so it is only taken when needed.
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def file_response(
    write: Callable[[Path], Any], media_type: str, suffix: str, stem: str
) -> FileResponse:
    """Write the export to a temporary file, and answer with it; the file is deleted after."""
    fd, name = tempfile.mkstemp(prefix="iroa-export-", suffix=suffix)
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}{suffix}"
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that closes its generator however the response ends — done,
    failed, or the client gone — so the generator's read transaction and database
    connection are given back at once (not when the generator is garbage-collected)."""

    def __init__(
        self,
        chunks: Generator[str, None, None] | Generator[bytes, None, None],
        first: str | bytes,
        **kwargs: Any,
    ) -> None:
        self._chunks = chunks
        super().__init__(chain([first], chunks), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Starlette waits for a running next() to return before cancelling, so the
            # generator is not executing here; shielded, as the task may be cancelled.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._chunks.close)


def json_stream_response(
    chunks: Generator[bytes, None, None], first: bytes, headers: dict[str, str]
) -> StreamingResponse:
    """Stream a JSON document whose ``first`` chunk is already read (so that errors were
    raised before the response started); ``chunks`` is closed however the response ends."""
    return ClosingStreamingResponse(chunks, first, media_type="application/json", headers=headers)


def csv_stream_response(chunks: Generator[str, None, None], stem: str) -> StreamingResponse:
    """Stream CSV text as an attachment named ``stem-<UTC time>.csv``.

    The first chunk is read before answering: any error of the parameters (an
    unknown integration, a bad filter) is raised here, before the response starts.
    """
    try:
        first = next(chunks)
    except StopIteration:
        first = ""
    except BaseException:
        chunks.close()
        raise
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}.csv"
    return ClosingStreamingResponse(
        chunks,
        first,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
