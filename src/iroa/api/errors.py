"""Errors as JSON ``{"detail": "one clear message"}``, one status per group of
:mod:`iroa.errors`: bad input 422, unknown ids 404, conflicts 409, bad credentials 401."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from iroa.auth.service import LoginThrottledError
from iroa.errors import (
    ConflictError,
    InvalidInputError,
    IroaError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
)


def describe_validation_error(error: dict[str, Any]) -> str:
    """One error of a request's validation as ``where: what``."""
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc) if loc else "request body"
    return f"{where}: {error.get('msg', 'invalid value')}"


def _json(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = "; ".join(describe_validation_error(e) for e in errors[:5]) or "invalid request"
    return _json(422, detail, errors=jsonable_encoder(errors, exclude={"input", "ctx", "url"}))


async def _by_status(status: int, exc: Exception) -> JSONResponse:
    return _json(status, str(exc))


VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "string",
            "title": "Detail",
            "description": "What is wrong, in one line",
        },
        "errors": {
            "type": "array",
            "title": "Errors",
            "items": {"$ref": "#/components/schemas/ValidationError"},
        },
    },
}


def _describe_422_as_a_message(app: FastAPI) -> None:
    """Make the OpenAPI document say what 422 answers really carry."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Map the core's errors to HTTP answers with one readable line."""
    app.add_exception_handler(RequestValidationError, _validation)
    _describe_422_as_a_message(app)

    # Starlette picks the handler of the first class in an error's MRO that has one,
    # so each error class lists its group first among its bases.
    mapping: list[tuple[type[Exception], int]] = [
        (IroaError, 500),
        (InvalidInputError, 422),
        (NotFoundError, 404),
        (ConflictError, 409),
        (UnauthenticatedError, 401),
        (UnavailableError, 503),
    ]
    for exc_type, status in mapping:

        async def handler(_: Request, exc: Exception, status: int = status) -> JSONResponse:
            return await _by_status(status, exc)

        app.add_exception_handler(exc_type, handler)

    async def throttled(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LoginThrottledError)
        response = _json(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    app.add_exception_handler(LoginThrottledError, throttled)
