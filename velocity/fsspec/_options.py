"""The storage options of :class:`~velocity.fsspec.SwiftFileSystem`: which
build the credentials, which are secrets, and the one
:class:`~velocity.client.SwiftClient` (and transfer engine) shared by every
filesystem instance made from the same options.

fsspec caches one filesystem instance per thread and names each instance by
a hash of its options (``tokenize``), and Dask names tasks after that hash.
Secrets are therefore wrapped in :class:`Secret` before fsspec sees them:
its ``repr()`` (what the hash is made of) shows a keyed fingerprint, never
the value, and it pickles to the real value so a filesystem sent to a Dask
worker can still log in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
import threading
from collections.abc import Mapping
from typing import Any

from velocity import errors
from velocity.auth import Credentials, build_credentials
from velocity.client import SwiftClient
from velocity.transfer import TransferConfig, TransferManager

__all__ = ["Secret", "CREDENTIAL_OPTIONS", "SECRET_OPTIONS", "hide_secrets", "reveal",
           "Shared", "shared"]

#: loose options passed on to :func:`velocity.auth.build_credentials`
CREDENTIAL_OPTIONS = frozenset({
    "identity", "auth_url", "user", "key", "region", "interface", "internal",
    "project_name", "project_id", "user_id", "user_domain_name", "user_domain_id",
    "project_domain_name", "project_domain_id", "version", "credential_id",
    "credential_name", "token", "storage_url", "cacert", "insecure", "cert", "cert_key",
    "timeout", "endpoint_override",
})
#: options whose values are secrets
SECRET_OPTIONS = frozenset({"key", "token", "temp_url_key"})

#: a random key per process: fingerprints cannot be compared across processes,
#: nor turned back into the secret by guessing
_SALT = _secrets.token_bytes(32)


def _fingerprint(value: str) -> str:
    return hmac.new(_SALT, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


class Secret(str):
    """A string that never shows itself: ``repr()`` and ``str()`` give a keyed
    fingerprint (equal secrets, equal fingerprints, within one process);
    :func:`reveal` gives the value.  Pickles to its value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<secret %s>" % _fingerprint(str.__str__(self))

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (str.__str__(self),))


def reveal(value: Any) -> Any:
    """The plain value of a :class:`Secret` (anything else unchanged)."""
    return str.__str__(value) if isinstance(value, Secret) else value


class CredentialsOption:
    """A :class:`~velocity.auth.Credentials` given as ``credentials=``,
    named by its identity in the process: two different credentials objects
    never share a cached filesystem, even when their ``repr`` is the same."""

    __slots__ = ("credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __repr__(self) -> str:
        return "%r@%x" % (self.credentials, id(self.credentials))

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a SwiftFileSystem made with credentials= cannot be pickled "
                        "(Credentials hold locks and a login session): pass the loose "
                        "options (auth_url=, user=, key=, ...) instead")


def hide_secrets(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with every secret wrapped in :class:`Secret` and a
    ``credentials=`` object in :class:`CredentialsOption`."""
    for name in SECRET_OPTIONS:
        value = kwargs.get(name)
        if isinstance(value, str) and not isinstance(value, Secret):
            kwargs[name] = Secret(value)
    creds = kwargs.get("credentials")
    if isinstance(creds, Credentials):
        kwargs["credentials"] = CredentialsOption(creds)
    return kwargs


def _env_fingerprint(environ: Mapping[str, str]) -> str:
    """Names the ``OS_*`` / ``ST_*`` settings without showing them."""
    found = sorted((k, v) for k, v in environ.items() if k.startswith(("OS_", "ST_")) and v)
    return _fingerprint(repr(found))


class Shared:
    """One client and one transfer engine, shared by every filesystem
    instance (one per thread, as fsspec makes them) with the same options:
    one login for all of them."""

    def __init__(self, credentials: Credentials, config: TransferConfig) -> None:
        self.client = SwiftClient(credentials)
        self.config = config
        self.manager = TransferManager(self.client, config)
        self.lock = threading.Lock()
        #: containers known to exist (so a copy does not create them each time)
        self.containers: set[str] = set()


_SHARED: dict[str, Shared] = {}
_SHARED_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    global _SHARED_LOCK
    _SHARED_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared(options: Mapping[str, Any], config: TransferConfig) -> Shared:
    """The :class:`Shared` client for these storage options (made on first use).

    :param options: the credential options (``credentials=`` a
        :class:`CredentialsOption`, or loose options; none: the environment)
    :raises velocity.errors.ConfigurationError: the options make no login
    """
    given = {k: v for k, v in options.items() if k in CREDENTIAL_OPTIONS and v is not None}
    handle = options.get("credentials")
    if handle is not None and given:
        raise errors.ConfigurationError(
            "give either credentials= or loose options (%s), not both" % ", ".join(sorted(given)))
    if handle is not None:
        name = "credentials:%r" % (handle,)
    elif given:
        name = "options:%r" % (sorted(given.items()),)
    else:
        name = "env:" + _env_fingerprint(os.environ)
    name += ":%r" % (config,)
    with _SHARED_LOCK:
        found = _SHARED.get(name)
        if found is None:
            if handle is not None:
                creds = handle.credentials if isinstance(handle, CredentialsOption) else handle
                if not isinstance(creds, Credentials):
                    raise errors.ConfigurationError(
                        "credentials= must be velocity.auth.Credentials, got %s"
                        % type(creds).__name__)
            elif given:
                creds = build_credentials(**{k: reveal(v) for k, v in given.items()})
            else:
                creds = Credentials.from_env()
            found = _SHARED[name] = Shared(creds, config)
        return found
