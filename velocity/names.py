"""Swift's naming rules, checked before any request is sent.

Every face (object model, transfer engine, asyncio API) checks names here, so
a name breaks the same rule with the same message wherever it is used.
"""

from __future__ import annotations

from typing import Any

from velocity import consts, errors

__all__ = ["check_container_name", "check_object_name"]


def check_container_name(name: Any) -> str:
    """Return ``name`` if Swift accepts it as a container name, else raise
    :class:`~velocity.errors.InvalidContainerName` saying which rule it breaks."""
    if name is None or name == "":
        raise errors.InvalidContainerName("a container name must not be empty")
    if not isinstance(name, str):
        raise errors.InvalidContainerName(
            "a container name must be a str, got %s" % type(name).__name__)
    if "/" in name:
        raise errors.InvalidContainerName("container name %r must not contain '/'" % name)
    size = len(name.encode("utf-8"))
    if size > consts.container_name_limit:
        raise errors.InvalidContainerName(
            "container name is %d bytes long in UTF-8; the limit is %d bytes"
            % (size, consts.container_name_limit))
    if "\x00" in name:
        raise errors.InvalidContainerName("a container name must not contain NUL")
    return name


def check_object_name(name: Any) -> str:
    """Return ``name`` if Swift accepts it as an object name, else raise
    :class:`~velocity.errors.InvalidObjectName` saying which rule it breaks."""
    if name is None or name == "":
        raise errors.InvalidObjectName("an object name must not be empty")
    if not isinstance(name, str):
        raise errors.InvalidObjectName(
            "an object name must be a str, got %s" % type(name).__name__)
    if len(name.encode("utf-8")) > consts.object_name_limit:
        raise errors.InvalidObjectName(
            "object name is %d bytes long in UTF-8; the limit is %d bytes"
            % (len(name.encode("utf-8")), consts.object_name_limit))
    if "\x00" in name:
        raise errors.InvalidObjectName("an object name must not contain a NUL character")
    return name
