"""``Authorization: Token <key>``, checked against the hashed keys of the county's own schema."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from duban.accounts.tokens import user_for_key


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing (``Token`` keyword, 401 with ``WWW-Authenticate``) over our own table,
    which keeps only each key's SHA-256. A key of another county is unknown on this host."""

    def authenticate_credentials(self, key):
        user = user_for_key(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("令牌无效、已撤销或不属于本县。"))
        return (user, None)
