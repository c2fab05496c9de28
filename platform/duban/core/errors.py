"""The errors every area's actions raise on purpose, one family for the whole product.

Entry points turn them into answers without knowing which area raised them: the API
(``api.errors``) into HTTP statuses, the web views into a message on the form or the house's
403/404 page, the CLI (``duban.core.commands.action_errors``) into a ``CommandError``.

=================  ======  =======================================================
``Invalid``        400     bad input; ``field`` names what is wrong
``NotAllowed``     403     the user may see the object, their role may not act
``NotFound``       404     missing, or not visible to the user (the same answer)
``Conflict``       409     the object changed meanwhile, or the step does not
                           apply in its state (``matters.states.InvalidTransition``)
=================  ======  =======================================================
"""

from __future__ import annotations


class DubanError(Exception):
    """Base of the errors an action raises on purpose (anything else is a bug: HTTP 500)."""


class Invalid(DubanError, ValueError):
    """Bad input for an action; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


class NotAllowed(DubanError, PermissionError):
    """The user may see the object but their role may not take this action."""


class NotFound(DubanError, LookupError):
    """No such object, or not one the user may see: both get the same answer."""


class Conflict(DubanError):
    """Someone changed the object since the caller read it, or the action does not apply in
    its current state; nothing was changed. ``code`` tells an API client which."""

    code = "stale_version"
