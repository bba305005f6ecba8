"""keystoneauth1, imported without loading osprofiler and netaddr.

``keystoneauth1.session`` imports ``osprofiler.web`` when it is installed (it
is, wherever a Keystone server or an OpenStack service is), only to add trace
headers to requests while an osprofiler trace is running, and ``netaddr``
only to write its address objects into JSON bodies.  Those imports pull in
oslo.config and WebOb and were about 0.15 s of the start-up of a command
such as ``velocity stat``.  Every module of Velocity takes its keystoneauth1
modules from here: the session module is imported with both hidden for that
moment, and sees stand-ins that behave as the real modules would: trace
headers come from the real ``osprofiler.web`` once the process has loaded
osprofiler's profiler (no trace can run before), and an object can only be a
``netaddr.IPAddress`` once netaddr is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


class _TraceHeaders:
    """What ``keystoneauth1.session`` sees as ``osprofiler.web``."""

    def get_trace_id_headers(self) -> dict[str, str]:
        if "osprofiler.profiler" not in sys.modules:
            return {}  # no trace can be running
        web: Any = importlib.import_module("osprofiler.web")
        return dict(web.get_trace_id_headers())

    def __repr__(self) -> str:
        return "<osprofiler.web, imported once a trace can run>"


class _NoAddress:
    """Of which nothing is an instance."""


class _Addresses:
    """What ``keystoneauth1.session`` sees as ``netaddr``."""

    @property
    def IPAddress(self) -> type:  # noqa: N802 - netaddr's name
        loaded = sys.modules.get("netaddr")
        return loaded.IPAddress if loaded is not None else _NoAddress

    def __repr__(self) -> str:
        return "<netaddr, used once it is loaded>"


_HIDDEN = {"osprofiler": ("osprofiler_web", _TraceHeaders),
           "netaddr": ("netaddr", _Addresses)}


def _import_session() -> Any:
    if "keystoneauth1.session" in sys.modules:
        return sys.modules["keystoneauth1.session"]
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # ImportError for now
    try:
        module = importlib.import_module("keystoneauth1.session")
    finally:
        for name in hidden:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]
    for name in hidden:
        attribute, stand_in = _HIDDEN[name]
        if getattr(module, attribute, None) is None and \
                importlib.util.find_spec(name) is not None:
            setattr(module, attribute, stand_in())
    return module


session = _import_session()

from keystoneauth1 import access, exceptions, plugin  # noqa: E402 - after the session
from keystoneauth1.identity import base as identity_base  # noqa: E402
from keystoneauth1.identity import v2  # noqa: E402

__all__ = ["session", "access", "exceptions", "plugin", "identity_base", "v2"]
