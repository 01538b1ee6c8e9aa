"""How the registry service answers an error: an RFC 9457 problem document
(application/problem+json) with a one-line detail, no stack trace and no server path.

Errors a user can cause are 4xx; a busy or unreachable database is 503 with Retry-After;
anything else is a bare 500 whose cause stays in the service's log.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hubscout.errors import HubscoutError
from hubscout.hub import EmptyHubError
from registry.errors import RegistryConflictError, UnknownModelError

logger = logging.getLogger(__name__)

# A path of two or more segments not inside a URL (after ':' or '/'): only its last one is said.
SERVER_PATH = re.compile(r"(?<![:/\w.])(?:/[^/\s'\"(),;]+)+/([^/\s'\"(),;]+)")
DATABASE_RETRY_SECONDS = 2


class Problem(Exception):
    """An error answered as a problem document."""

    def __init__(
        self, status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = dict(headers or {})


def without_server_paths(text: str) -> str:
    """`text` with every absolute path cut to its last part (the file a user named or sent),
    so that no answer tells where the service keeps its files."""
    return SERVER_PATH.sub(r"\1", text)


def problem_response(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem document of one error, on one line."""
    line = " ".join(without_server_paths(detail).split())
    body = {"type": "about:blank", "title": title, "status": status, "detail": line}
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def add_problem_handlers(app: FastAPI) -> None:
    """Answer every error `app` raises as a problem document."""

    async def problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return problem_response(error.status, error.title, error.detail, error.headers)

    async def conflict(_: Request, error: Exception) -> JSONResponse:
        return problem_response(409, "Conflict", str(error))

    async def unknown(_: Request, error: Exception) -> JSONResponse:
        return problem_response(404, "Not found", str(error))

    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        return problem_response(409, "Hub not ready", str(error))

    async def bad_request(_: Request, error: Exception) -> JSONResponse:
        return problem_response(400, "Bad request", str(error))

    async def database_busy(_: Request, error: Exception) -> JSONResponse:
        logger.warning("the registry database did not answer in time: %s", error)
        return problem_response(
            503,
            "Database busy",
            "the registry database is busy or does not answer; retry shortly",
            {"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem_response(422, "Invalid request", f"{where}: {first.get('msg')}")

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return problem_response(error.status_code, str(error.detail), str(error.detail))

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.error("the registry failed", exc_info=error)
        return problem_response(500, "Internal error", "the registry failed; see its log")

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        Problem: problem,
        RegistryConflictError: conflict,
        UnknownModelError: unknown,
        EmptyHubError: unavailable,
        HubscoutError: bad_request,
        OperationalError: database_busy,
        PoolTimeoutError: database_busy,
        RequestValidationError: invalid,
        StarletteHTTPException: http_error,
        Exception: unexpected,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
