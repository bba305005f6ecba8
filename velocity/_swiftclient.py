"""python-swiftclient, imported without loading python-keystoneclient.

When it is imported, swiftclient imports keystoneclient's v2.0 and v3
clients (and with them oslo.config and oslo.utils) for the Keystone logins it
can do itself.  Velocity never logs in through swiftclient: it hands each
``swiftclient.Connection`` a keystoneauth1 session.  That import was most of
the start-up time of a command such as ``velocity list``.  So swiftclient is
imported here with keystoneclient hidden for that moment, and the names it
would have bound are stand-ins that import the real modules on first use:
other code of the process that logs in through swiftclient's own Keystone
support still works, it just pays the import when it needs it.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _Later:
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return "<module %r, imported on first use>" % self._name


def _import() -> ModuleType:
    if "swiftclient.client" in sys.modules or "keystoneclient" in sys.modules:
        import swiftclient.client

        return swiftclient.client
    sys.modules["keystoneclient"] = None  # type: ignore[assignment]  # ImportError for now
    try:
        import swiftclient.client
    finally:
        if sys.modules.get("keystoneclient", "") is None:
            del sys.modules["keystoneclient"]
    module = swiftclient.client
    for name, target in (("ksexceptions", "keystoneclient.exceptions"),
                         ("ksclient_v2", "keystoneclient.v2_0.client"),
                         ("ksclient_v3", "keystoneclient.v3.client"),
                         ("ksa_v3", "keystoneauth1.identity.v3"),
                         ("ksa_session", "keystoneauth1.session"),
                         ("ksauthexceptions", "keystoneauth1.exceptions")):
        if getattr(module, name, None) is None:
            setattr(module, name, _Later(target))
    return module


client = _import()
# swiftclient's DEBUG log shows the first 16 characters of every token and key;
# Velocity promises that no part of a secret is logged, so reveal none.
client.logger_settings["reveal_sensitive_prefix"] = 0

import swiftclient  # noqa: E402 - the package, now that its client module is loaded
from swiftclient.exceptions import ClientException  # noqa: E402
from swiftclient.utils import generate_temp_url  # noqa: E402

__all__ = ["swiftclient", "client", "ClientException", "generate_temp_url"]
