"""Drop-in replacement for python-cloudfiles: ``import velocity.cloudfiles as cloudfiles``.

Legacy code changes that one import and keeps working::

    import velocity.cloudfiles as cloudfiles

    conn = cloudfiles.get_connection("user", "api-key")
    container = conn.create_container("photos")
    obj = container.create_object("cat.jpg")
    obj.load_from_filename("cat.jpg")
    try:
        container.get_object("dog.jpg")
    except cloudfiles.errors.NoSuchObject:
        ...

The submodules python-cloudfiles had are here too, as attributes and as
importable modules: ``consts``, ``errors``, ``utils``, ``authentication``
(``from velocity.cloudfiles.errors import NoSuchObject`` works).  See
``docs/migrating-from-cloudfiles.rst`` for every difference.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from velocity import consts
from velocity import errors as _errors
from velocity._version import __version__
from velocity.connection import (
    Connection,
    ConnectionPool,
    get_connection,
    parse_url,
    unicode_quote,
)
from velocity.container import Container, ContainerResults
from velocity.storage_object import ObjectResults, StorageObject

__all__ = [
    "__version__", "get_connection", "Connection", "ConnectionPool", "Container", "Object",
    "ContainerResults", "ObjectResults", "us_authurl", "uk_authurl", "consts", "errors",
    "utils", "authentication",
]

#: python-cloudfiles' name for :class:`velocity.storage_object.StorageObject`
Object = StorageObject
us_authurl = consts.us_authurl
uk_authurl = consts.uk_authurl


def _module(name: str, doc: str, values: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType("%s.%s" % (__name__, name), doc)
    for key, value in values.items():
        setattr(module, key, value)
    module.__all__ = sorted(values)  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module


#: every python-cloudfiles exception name; each is a velocity.errors.VelocityError
errors = _module("errors", "python-cloudfiles' exception names (velocity.errors classes).", {
    "Error": _errors.VelocityError,
    "ResponseError": _errors.ResponseError,
    "NoSuchContainer": _errors.NoSuchContainer,
    "NoSuchObject": _errors.NoSuchObject,
    "ContainerNotEmpty": _errors.ContainerNotEmpty,
    "ContainerExists": _errors.ContainerExists,
    "ContainerNotPublic": _errors.ContainerNotPublic,
    "CDNNotEnabled": _errors.CDNNotEnabled,
    "InvalidContainerName": _errors.InvalidContainerName,
    "InvalidObjectName": _errors.InvalidObjectName,
    "InvalidMetaName": _errors.InvalidMetaName,
    "InvalidMetaValue": _errors.InvalidMetaValue,
    "InvalidUrl": _errors.InvalidUrl,
    "InvalidObjectSize": _errors.InvalidObjectSize,
    "IncompleteSend": _errors.IncompleteSend,
    "AuthenticationFailed": _errors.AuthenticationFailed,
    "AuthenticationError": _errors.AuthenticationError,
})

utils = _module("utils", "python-cloudfiles' URL helpers.", {
    "parse_url": parse_url,
    "unicode_quote": unicode_quote,
})


class BaseAuthentication:
    """python-cloudfiles' authenticator base class: subclass it and override
    :meth:`authenticate` to log in your own way, then pass an instance as
    ``Connection(auth=...)``."""

    def __init__(self, username: str, api_key: str, authurl: str = consts.us_authurl,
                 timeout: float = 15, useragent: str = consts.user_agent) -> None:
        self.authurl = authurl
        self.timeout = timeout
        self.username = username
        self.headers = {"x-auth-user": username, "x-auth-key": api_key,
                        "User-Agent": useragent}
        self.host, self.port, self.uri, self.is_ssl = parse_url(authurl)

    def __repr__(self) -> str:
        return "%s(%r, key=<hidden>, authurl=%r)" % (type(self).__name__, self.username,
                                                     self.authurl)

    def authenticate(self) -> tuple[str | None, str | None, str | None]:
        """``(storage_url, cdn_management_url, token)``; the base class returns Nones."""
        return None, None, None


class Authentication(BaseAuthentication):
    """python-cloudfiles' v1.0 authenticator (``X-Auth-User`` / ``X-Auth-Key``).

    ``Connection(username, api_key, authurl=...)`` does the same through
    :meth:`velocity.auth.Credentials.v1`; this class exists for code that
    builds or subclasses it."""

    def authenticate(self) -> tuple[str | None, str | None, str | None]:
        import requests

        try:
            response = requests.get(self.authurl, headers=self.headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _errors.AuthenticationError("could not reach %s: %s" % (
                self.authurl, exc.__class__.__name__), method="GET", path=self.authurl) from None
        if response.status_code == 401:
            raise _errors.AuthenticationFailed("the identity service refused user %r"
                                               % self.username, status=401, method="GET",
                                               path=self.authurl)
        if not 200 <= response.status_code < 300:
            raise _errors.ResponseError(response.status_code, response.reason)
        url = response.headers.get("x-storage-url")
        token = response.headers.get("x-auth-token") or response.headers.get("x-storage-token")
        if not url or not token:
            raise _errors.AuthenticationError("Invalid response from the authentication service.")
        return url, response.headers.get("x-cdn-management-url"), token


authentication = _module("authentication", "python-cloudfiles' authenticators.", {
    "BaseAuthentication": BaseAuthentication,
    "Authentication": Authentication,
})

sys.modules[__name__ + ".consts"] = consts
