"""How a Dask worker logs in: a :class:`Recipe`, never a token.

A :class:`~velocity.auth.Credentials` object holds a keystoneauth1 plugin,
a session and locks: it cannot travel to another process, and its token
would expire there with no way to renew it.  What travels instead is the
recipe: the loose login options of :func:`velocity.auth.build_credentials`
(or the ``OS_*`` / ``ST_*`` variables :meth:`Credentials.from_env` reads),
from which every worker process builds its own credentials, logs in once
and renews its token itself.

A recipe that would carry a bare token (``token=``, ``OS_AUTH_TOKEN``,
pre-authenticated access) is refused: a worker could not renew it.  Its
``repr()`` (what Dask shows in logs, error reports and its dashboard) hides
every key, password and secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from velocity import errors
from velocity.auth import Credentials, build_credentials

__all__ = ["Recipe", "as_recipe"]

#: the options :func:`~velocity.auth.build_credentials` and
#: :class:`~velocity.auth.Credentials` take that a recipe may carry
OPTIONS = frozenset({
    "identity", "auth_url", "user", "key", "region", "interface", "internal",
    "project_name", "project_id", "user_id", "user_domain_name", "user_domain_id",
    "project_domain_name", "project_domain_id", "version", "credential_id",
    "credential_name", "timeout", "endpoint_override", "cacert", "insecure", "cert",
    "cert_key", "service_type",
})
#: options whose values are never shown
SECRET_OPTIONS = frozenset({"key"})
#: environment variables a recipe made from the environment keeps
ENV_PREFIXES = ("OS_", "ST_", "SWIFTCLIENT_")
#: words that make an environment variable's value a secret
_SECRET_WORDS = ("PASSWORD", "KEY", "SECRET", "TOKEN")
#: kinds of credentials a worker could not renew by itself
_TOKEN_KINDS = ("preauthenticated", "token")
_PLAIN = (str, int, float, bool)


class Recipe:
    """The login options every worker builds its own credentials from.

    ``Recipe(auth_url=..., user=..., key=...)`` takes the keyword options of
    :func:`velocity.auth.build_credentials` (``identity``, ``auth_url``,
    ``user``, ``key``, ``region``, ``project_name``, the domains, ``cacert``,
    ...); :meth:`from_env` keeps the ``OS_*`` / ``ST_*`` variables of an
    OpenStack RC file instead.  Recipes are small, picklable, hashable and
    compare by value; :meth:`build` makes the
    :class:`~velocity.auth.Credentials`.

    :raises velocity.errors.ConfigurationError: an unknown option, a value
        that is not plain data, or a ``token=`` (a bare token cannot be
        renewed on a worker: give the user and key, or an application
        credential)
    """

    __slots__ = ("_options", "_env")

    def __init__(self, identity: str | None = None, **options: Any) -> None:
        if identity is not None:
            options["identity"] = identity
        given = {name: value for name, value in options.items() if value is not None}
        if "token" in given or "storage_url" in given:
            raise errors.ConfigurationError(
                "a Recipe cannot carry a token or a pre-authenticated storage URL: every "
                "Dask worker logs in itself and must be able to renew its token; give "
                "the login (user and key, or an application credential) instead")
        unknown = sorted(set(given) - OPTIONS)
        if unknown:
            raise errors.ConfigurationError(
                "Recipe does not know the option(s) %s; it takes %s"
                % (", ".join(unknown), ", ".join(sorted(OPTIONS))))
        for name, value in given.items():
            if not isinstance(value, _PLAIN):
                raise errors.ConfigurationError(
                    "Recipe option %s must be a string, number or boolean, got %s"
                    % (name, type(value).__name__))
        self._options: tuple[tuple[str, Any], ...] = tuple(sorted(given.items()))
        self._env: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Recipe:
        """The ``OS_*``, ``ST_*`` and ``SWIFTCLIENT_*`` variables of ``env``
        (``os.environ`` by default), read on each worker by
        :meth:`Credentials.from_env <velocity.auth.Credentials.from_env>`.

        :raises velocity.errors.ConfigurationError: they hold a token
            (``OS_AUTH_TOKEN``) a worker could not renew
        """
        import os

        source = os.environ if env is None else env
        kept = {name: value for name, value in source.items()
                if name.startswith(ENV_PREFIXES) and value and value.strip()}
        if "OS_AUTH_TOKEN" in kept:
            raise errors.ConfigurationError(
                "OS_AUTH_TOKEN is set: a token cannot be sent to Dask workers, which log "
                "in themselves and renew their tokens; unset it and set OS_USERNAME and "
                "OS_PASSWORD (or OS_APPLICATION_CREDENTIAL_ID and _SECRET)")
        recipe = cls()
        recipe._env = tuple(sorted(kept.items()))
        return recipe

    def build(self) -> Credentials:
        """New :class:`~velocity.auth.Credentials` from this recipe (no login yet).

        :raises velocity.errors.ConfigurationError: the options do not make
            a login a worker can renew
        """
        if self._env is not None:
            credentials = Credentials.from_env(dict(self._env))
        else:
            credentials = build_credentials(**dict(self._options))
        if credentials.kind in _TOKEN_KINDS:
            raise errors.ConfigurationError(
                "%s credentials carry a token that Dask workers could not renew: give "
                "the login (user and key, or an application credential) instead"
                % credentials.kind)
        return credentials

    # -- value semantics ---------------------------------------------------------------

    def _state(self) -> tuple[object, ...]:
        return (self._options, self._env)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and self._state() == other._state()

    def __hash__(self) -> int:
        return hash(self._state())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._options, self._env))

    def __repr__(self) -> str:
        if self._env is not None:
            shown = ["%s=%s" % (name, "<hidden>" if _secret_env(name) else repr(value))
                     for name, value in self._env]
            return "Recipe.from_env(%s)" % ", ".join(shown)
        shown = ["%s=%s" % (name, "<hidden>" if name in SECRET_OPTIONS else repr(value))
                 for name, value in self._options]
        return "Recipe(%s)" % ", ".join(shown)

    __str__ = __repr__


def _secret_env(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def _restore(options: tuple[tuple[str, Any], ...],
             env: tuple[tuple[str, str], ...] | None) -> Recipe:
    recipe = Recipe.__new__(Recipe)
    recipe._options = options
    recipe._env = env
    return recipe


def as_recipe(credentials: Recipe | Mapping[str, Any] | None) -> Recipe:
    """The :class:`Recipe` a call was given: a recipe, a mapping of its
    options, or ``None`` for :meth:`Recipe.from_env`.

    :raises velocity.errors.ConfigurationError: for
        :class:`~velocity.auth.Credentials` (they hold a login session and
        cannot be sent to workers) or anything else
    """
    if credentials is None:
        return Recipe.from_env()
    if isinstance(credentials, Recipe):
        return credentials
    if isinstance(credentials, Mapping):
        return Recipe(**dict(credentials))
    if isinstance(credentials, Credentials):
        raise errors.ConfigurationError(
            "velocity.distributed needs a Recipe, not Credentials: Credentials hold a login "
            "session that cannot travel to Dask workers; pass Recipe(auth_url=..., user=..., "
            "key=...) or Recipe.from_env()")
    raise errors.ConfigurationError("credentials must be a velocity.distributed.Recipe, a "
                                    "mapping of its options or None, got %s"
                                    % type(credentials).__name__)
