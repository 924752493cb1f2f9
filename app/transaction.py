"""One commit per request, per CLI command and per scheduled job (Indico's request handler).

The domain adds, changes and flushes; nothing else commits. This module decides once,
at the end of the unit of work:

- a request whose response is below 400 and that met no refused rule commits;
- a request that answered 400 or more, raised, or met a refused rule (any
  ``DomainError`` built while it ran, even one a view caught to show a flash) rolls
  back: never half a write;
- ``keep_writes()`` commits an error response's writes on purpose (a failed sign-in is
  audited although the page answers 401).

A view:   call the domain function and return; no ``db.session.commit()``/``rollback()``.
A CLI command or job: wrap it in ``committing`` (the ``flask`` groups in app/cli.py do it
for every command); it commits when the command returns, rolls back when it raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, g, has_request_context

from app.domain import errors
from app.extensions import db

_KEEP = "_sinfonia_keep_writes"
_REFUSED = "_sinfonia_refused"

F = TypeVar("F", bound=Callable[..., Any])


def keep_writes() -> None:
    """Commit this request's (or CLI command's) writes although it answers with an error
    status or exits with a failure: the record of a failed attempt is kept."""
    setattr(g, _KEEP, True)


def _end_failed() -> None:
    if g.pop(_KEEP, False):
        db.session.commit()
    else:
        db.session.rollback()


def _note_refusal(_error: errors.DomainError) -> None:
    if has_request_context():
        setattr(g, _REFUSED, True)


def _finish_request(response: Response) -> Response:
    keep, refused = g.pop(_KEEP, False), g.pop(_REFUSED, False)
    if keep or (response.status_code < 400 and not refused and db.session.is_active):
        db.session.commit()
    else:
        db.session.rollback()
    return response


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit when the block ends, roll back if it raises (an exit status 0 still commits;
    ``keep_writes()`` keeps a failure's record). Needs an app context."""
    try:
        yield
    except SystemExit as exc:
        if exc.code in (0, None):
            db.session.commit()
        else:
            _end_failed()
        raise
    except BaseException:
        _end_failed()
        raise
    else:
        g.pop(_KEEP, None)
        db.session.commit()


def committing(fn: F) -> F:
    """``fn`` as one transaction (CLI commands, scheduled jobs)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    errors.on_refusal(_note_refusal)
    # Registered first, so it runs last: after every other after_request hook has written.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_request)
