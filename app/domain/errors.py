"""Errors the domain raises; views turn them into flashes/403 pages, the API into JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_refusal_listeners: list[Callable[[DomainError], None]] = []


def on_refusal(listener: Callable[[DomainError], None]) -> None:
    """Call ``listener(error)`` whenever a rule refuses something (app.transaction uses it
    to roll the request back, even when a view catches the error to show a message)."""
    if listener not in _refusal_listeners:
        _refusal_listeners.append(listener)


class DomainError(Exception):
    """A rule refused the action. ``message`` is shown to the user: built with
    ``app.i18n._``, it reads in the language of the request (a message made outside a
    request is lazy and is read here, when the response is written)."""

    status = 400

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details
        for listener in _refusal_listeners:
            listener(self)

    @property
    def message(self) -> str:
        return str(self._message)

    @message.setter
    def message(self, value: str) -> None:
        self._message = value


class ValidationFailed(DomainError):
    """Input that breaks a rule; ``details`` maps field → list of messages."""

    status = 422


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """A concurrent change or a uniqueness rule (e.g. a second survey)."""

    status = 409
