"""Velocity inside other frameworks: :mod:`velocity.contrib.django` (a Django
file storage).  The fsspec filesystem is :mod:`velocity.fsspec`.

``temp_url`` (signed, expiring URLs) is :func:`velocity.tempurl.temp_url`,
kept here under its old name.
"""

from __future__ import annotations

from velocity.tempurl import temp_url

__all__ = ["temp_url"]
