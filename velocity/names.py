"""Swift's naming rules, checked before any request is sent.

Every face (object model, transfer engine, asyncio API) checks names here, so
a name breaks the same rule with the same message wherever it is used.

:func:`check_container_name` and :func:`check_object_name` take ``str`` only.
The python-cloudfiles face (:mod:`velocity.connection`,
:mod:`velocity.container`, :mod:`velocity.storage_object`) goes through
:func:`as_container_name` / :func:`as_object_name` instead: python-cloudfiles
ran on Python 2, where a name was a byte string, and programs such as
duplicity still pass ``bytes``.  Those are decoded from UTF-8 (strictly: a
name Swift would store differently from what was given is refused) and then
checked by the same rules.
"""

from __future__ import annotations

from typing import Any

from velocity import consts, errors

__all__ = [
    "check_container_name", "check_object_name", "as_container_name", "as_object_name",
    "decode_name", "name_of",
]

#: what the name functions accept as an encoded name
_ENCODED = (bytes, bytearray)


def _check_name(name: Any, error: type[errors.VelocityError], what: str, limit: int) -> str:
    """The rules container and object names share: a non-empty ``str`` of
    at most ``limit`` UTF-8 bytes without NUL (``what`` names it in the
    message)."""
    article = "an" if what[0] in "aeiou" else "a"
    if name is None or name == "":
        raise error("%s %s must not be empty" % (article, what))
    if not isinstance(name, str):
        raise error("%s %s must be a str, got %s" % (article, what, type(name).__name__))
    size = len(name.encode("utf-8"))
    if size > limit:
        raise error("%s is %d bytes long in UTF-8; the limit is %d bytes" % (what, size, limit))
    if "\x00" in name:
        raise error("%s %s must not contain a NUL character" % (article, what))
    return name


def check_container_name(name: Any) -> str:
    """Return ``name`` if Swift accepts it as a container name, else raise
    :class:`~velocity.errors.InvalidContainerName` saying which rule it breaks."""
    if isinstance(name, str) and "/" in name:
        raise errors.InvalidContainerName("container name %r must not contain '/'" % name)
    return _check_name(name, errors.InvalidContainerName, "container name",
                       consts.container_name_limit)


def check_object_name(name: Any) -> str:
    """Return ``name`` if Swift accepts it as an object name, else raise
    :class:`~velocity.errors.InvalidObjectName` saying which rule it breaks."""
    return _check_name(name, errors.InvalidObjectName, "object name", consts.object_name_limit)


def decode_name(value: Any, error: type[errors.VelocityError] = errors.InvalidObjectName,
                what: str = "object name") -> Any:
    """``value`` decoded from UTF-8 if it is ``bytes`` / ``bytearray``;
    anything else is returned unchanged (for the ``check_*`` functions to judge).

    Also used for the parts of names a listing takes (``prefix``, ``marker``,
    ``path``, ...), which need decoding but not the name rules.

    :param error: raised when the bytes are not valid UTF-8
    :param what: what ``value`` is, for the message (``"object name"``, ``"prefix"``)
    """
    if not isinstance(value, _ENCODED):
        return value
    raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.end]
        raise error("%s %r is not valid UTF-8 (byte%s %s at offset %d); Swift names are "
                    "UTF-8 text: decode the name from its real encoding first"
                    % (what, raw[:64] + (b"..." if len(raw) > 64 else b""),
                       "s" if len(bad) > 1 else "", bad.hex(" "), exc.start)) from None


def name_of(item: Any) -> Any:
    """The name of anything that has one (a
    :class:`~velocity.container.Container`, a
    :class:`~velocity.storage_object.StorageObject`); anything else, such as a
    name given as ``str`` or ``bytes``, is returned unchanged."""
    return item.name if hasattr(item, "name") and not isinstance(item, str) else item


def as_container_name(name: Any) -> str:
    """The container name ``name`` as a checked ``str``: ``bytes`` are decoded
    from UTF-8, then :func:`check_container_name` applies.

    :raises InvalidContainerName: invalid UTF-8, or a naming rule is broken
    """
    return check_container_name(decode_name(name, errors.InvalidContainerName,
                                            "container name"))


def as_object_name(name: Any) -> str:
    """The object name ``name`` as a checked ``str``: ``bytes`` are decoded
    from UTF-8, then :func:`check_object_name` applies.

    :raises InvalidObjectName: invalid UTF-8, or a naming rule is broken
    """
    return check_object_name(decode_name(name, errors.InvalidObjectName, "object name"))
