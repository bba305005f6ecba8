"""Loose options (arguments, command-line flags, ``OS_*`` variables) made into
:class:`~velocity.auth.Credentials`: the one builder every face uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from velocity._log import log
from velocity.auth.credentials import Credentials
from velocity.auth.v1 import interface as _interface
from velocity.consts import RACKSPACE_AUTH_URL
from velocity.errors import ConfigurationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any


class _Env:
    """Environment lookups that treat empty values as unset and spot
    contradicting aliases."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def get(self, *names: str) -> str | None:
        values = {name: self.env.get(name, "").strip() for name in names}
        given = {name: value for name, value in values.items() if value}
        if len(set(given.values())) > 1:
            raise ConfigurationError("contradictory settings: %s; set only one of them" % (
                ", ".join("%s=%r" % item for item in given.items())))
        return next(iter(given.values()), None)

    def has(self, *names: str) -> bool:
        return any(self.env.get(name, "").strip() for name in names)


_ENV_HELP = ("set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME (source an "
             "OpenStack RC file), or OS_APPLICATION_CREDENTIAL_ID and "
             "OS_APPLICATION_CREDENTIAL_SECRET with OS_AUTH_URL, or OS_STORAGE_URL and "
             "OS_AUTH_TOKEN, or the swift CLI's ST_AUTH, ST_USER and ST_KEY")

_AUTH_TYPES = {
    "password": "password", "v2password": "password", "v3password": "password",
    "v3applicationcredential": "application_credential",
    "applicationcredential": "application_credential",
    "application_credential": "application_credential",
    "token": "token", "v2token": "token", "v3token": "token",
    "v1": "v1", "v1password": "v1", "tempauth": "v1",
    "rackspace": "rackspace", "rackspace_apikey": "rackspace", "rax": "rackspace",
}


def _missing(names: list[str], what: str) -> ConfigurationError:
    return ConfigurationError("%s: set %s" % (what, ", ".join(names)))


def credentials_from_env(environ: Mapping[str, str], options: dict[str, Any],
                         cls: type[Credentials] = Credentials) -> Credentials:
    """:meth:`Credentials.from_env`: read the variables, check that they make
    one login (naming the variables when they do not), and build it with
    :func:`build_credentials`."""
    env = _Env(environ)
    options = dict(options)
    for option, names in (("cacert", ("OS_CACERT",)), ("cert", ("OS_CERT",)),
                          ("cert_key", ("OS_KEY",))):
        if env.has(*names) and option not in options:
            options[option] = env.get(*names)
    insecure = env.get("OS_INSECURE", "SWIFTCLIENT_INSECURE")
    if insecure and "insecure" not in options:
        options["insecure"] = insecure.strip().lower() in ("1", "true", "yes", "on")
    region = env.get("OS_REGION_NAME")
    interface = env.get("OS_INTERFACE", "OS_ENDPOINT_TYPE") or "public"
    storage_url = env.get("OS_STORAGE_URL")
    token = env.get("OS_AUTH_TOKEN")
    auth_url = env.get("OS_AUTH_URL")
    version = env.get("OS_IDENTITY_API_VERSION", "OS_AUTH_VERSION")
    auth_type = env.get("OS_AUTH_TYPE")

    if auth_type:
        kind = _AUTH_TYPES.get(auth_type.lower().replace("-", "_"))
        if kind is None:
            raise ConfigurationError("OS_AUTH_TYPE=%r is not supported: use one of %s" % (
                auth_type, ", ".join(sorted(_AUTH_TYPES))))
    elif storage_url and token:
        kind = "preauthenticated"
    elif env.has("ST_AUTH"):
        if auth_url:
            raise ConfigurationError("both ST_AUTH (swift v1 auth) and OS_AUTH_URL are set: "
                                     "unset one, or set OS_AUTH_TYPE to choose")
        kind = "st"
    elif (version and version.lower().lstrip("v") in ("1", "1.0")) or (
            not version and auth_url and guess_identity(auth_url) == "v1"):
        kind = "v1"
    elif env.has("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME",
                 "OS_APPLICATION_CREDENTIAL_SECRET"):
        if env.has("OS_PASSWORD"):
            raise ConfigurationError(
                "both OS_PASSWORD and OS_APPLICATION_CREDENTIAL_* are set: unset one, or set "
                "OS_AUTH_TYPE (password or v3applicationcredential) to choose")
        kind = "application_credential"
    elif env.has("OS_API_KEY") and auth_url and guess_identity(auth_url) == "rackspace":
        kind = "rackspace"
    elif env.has("OS_PASSWORD"):
        kind = "password"
    elif token and auth_url:
        kind = "token"
    elif storage_url or token:
        raise _missing(["OS_AUTH_TOKEN" if storage_url else "OS_STORAGE_URL"],
                       "pre-authenticated access needs both OS_STORAGE_URL and OS_AUTH_TOKEN")
    elif auth_url or env.has("OS_USERNAME"):
        raise _missing(["OS_PASSWORD"], "no password in the environment")
    else:
        raise ConfigurationError("no credentials in the environment: " + _ENV_HELP)

    if storage_url and kind != "preauthenticated":
        options.setdefault("endpoint_override", storage_url)
    common = {"region": region, "interface": interface, "cls": cls, **options}
    if kind == "preauthenticated":
        _need(env, "pre-authenticated access", "OS_STORAGE_URL", "OS_AUTH_TOKEN")
        return build_credentials("preauthenticated", storage_url=storage_url, token=token,
                                 cls=cls, **options)
    if kind == "st":
        _need(env, "swift v1 auth (ST_AUTH)", "ST_AUTH", "ST_USER", "ST_KEY")
        return build_credentials("v1", auth_url=env.get("ST_AUTH"), user=env.get("ST_USER"),
                                 key=env.get("ST_KEY"), **common)
    if kind == "v1":
        _need(env, "v1 auth", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD")
        return build_credentials("v1", auth_url=auth_url, user=env.get("OS_USERNAME"),
                                 key=env.get("OS_PASSWORD"), **common)
    if kind == "rackspace":
        key = env.get("OS_API_KEY", "OS_PASSWORD")
        if not (env.has("OS_USERNAME") and key):
            raise _missing(["OS_USERNAME", "OS_API_KEY (or OS_PASSWORD)"],
                           "Rackspace API-key login needs a user name and key")
        return build_credentials("rackspace", auth_url=auth_url or RACKSPACE_AUTH_URL,
                                 user=env.get("OS_USERNAME"), key=key, **common)
    if not auth_url:
        raise _missing(["OS_AUTH_URL"], "no identity service URL")
    keystone = env_defaults(environ)
    keystone.pop("region", None)
    keystone.pop("interface", None)
    if kind == "token":
        _need(env, "token login", "OS_AUTH_TOKEN")
        return build_credentials("token", auth_url=auth_url, token=token, **keystone,
                                 **common)
    if kind == "application_credential":
        if not env.has("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME"):
            raise _missing(["OS_APPLICATION_CREDENTIAL_ID"],
                           "application credential login needs the credential's id")
        _need(env, "application credential login", "OS_APPLICATION_CREDENTIAL_SECRET")
        return build_credentials(
            "application_credential", auth_url=auth_url,
            credential_id=env.get("OS_APPLICATION_CREDENTIAL_ID"),
            key=env.get("OS_APPLICATION_CREDENTIAL_SECRET"), user=env.get("OS_USERNAME"),
            **keystone, **common)
    # password
    if not env.has("OS_USERNAME", "OS_USER_ID"):
        raise _missing(["OS_USERNAME (or OS_USER_ID)"], "password login needs a user")
    _need(env, "password login", "OS_PASSWORD")
    return build_credentials("password", auth_url=auth_url, user=env.get("OS_USERNAME"),
                             key=env.get("OS_PASSWORD"), **keystone, **common)


def env_defaults(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Keystone details an OpenStack RC file sets, as
    :func:`build_credentials` options (only those set): ``project_name``,
    ``project_id``, ``user_id``, the domains, ``credential_name``,
    ``version``, ``region`` and ``interface``.  Faces that take a user and
    key as arguments fill what they were not told from here."""
    env = _Env(os.environ if environ is None else environ)
    project_id = env.get("OS_PROJECT_ID", "OS_TENANT_ID")
    user_domain_name = env.get("OS_USER_DOMAIN_NAME") or (
        None if env.has("OS_USER_DOMAIN_ID") else env.get("OS_DEFAULT_DOMAIN_NAME"))
    user_domain_id = env.get("OS_USER_DOMAIN_ID") or (
        None if user_domain_name else env.get("OS_DEFAULT_DOMAIN_ID", "OS_DEFAULT_DOMAIN"))
    found = {
        "project_name": None if project_id else env.get("OS_PROJECT_NAME", "OS_TENANT_NAME"),
        "project_id": project_id,
        "user_id": env.get("OS_USER_ID"),
        "user_domain_name": user_domain_name, "user_domain_id": user_domain_id,
        "project_domain_name": env.get("OS_PROJECT_DOMAIN_NAME"),
        "project_domain_id": env.get("OS_PROJECT_DOMAIN_ID"),
        "credential_name": env.get("OS_APPLICATION_CREDENTIAL_NAME"),
        "version": env.get("OS_IDENTITY_API_VERSION", "OS_AUTH_VERSION"),
        "region": env.get("OS_REGION_NAME"),
        "interface": env.get("OS_INTERFACE", "OS_ENDPOINT_TYPE"),
    }
    return {name: value for name, value in found.items() if value}


# -- the builder -----------------------------------------------------------------------

#: identity flavours :func:`build_credentials` knows (``None``: guess from the URL)
IDENTITIES = ("v1", "rackspace", "password", "application_credential", "token",
              "preauthenticated")
_ALIASES = {"applicationcredential": "application_credential", "tempauth": "v1",
            "keystone": "password", "auto": None}
_NAMES = {"v1": "a v1 (tempauth) login", "rackspace": "a Rackspace API-key login",
          "password": "a Keystone password login",
          "application_credential": "a Keystone application credential login",
          "token": "a Keystone token login", "preauthenticated": "pre-authenticated access"}


def guess_identity(auth_url: str | None) -> str:
    """The identity flavour an auth URL speaks, as every face guesses it:
    ``.../auth/v1.0``, ``.../v1.0``, ``.../v1`` or ``.../auth`` is Swift's
    v1 protocol (tempauth, swauth, legacy Cloud Files); Rackspace's identity
    (``identity.api.rackspacecloud.com``) takes an API key; anything else is
    Keystone (``/v2.0`` v2, ``/v3`` or no version v3)."""
    if not auth_url:
        return "rackspace"  # Velocity's default identity service
    parts = urlsplit(auth_url.strip())
    path = parts.path.rstrip("/").lower()
    if path.endswith(("/v1.0", "/v1", "/auth")):
        return "v1"
    if (parts.hostname or "").endswith("rackspacecloud.com"):
        return "rackspace"
    return "password"


def build_credentials(identity: str | None = None, *, auth_url: str | None = None,
                      user: str | None = None, key: str | None = None,
                      region: str | None = None, interface: str | None = None,
                      internal: bool = False, project_name: str | None = None,
                      project_id: str | None = None, user_id: str | None = None,
                      user_domain_name: str | None = None, user_domain_id: str | None = None,
                      project_domain_name: str | None = None,
                      project_domain_id: str | None = None, version: str | None = None,
                      credential_id: str | None = None, credential_name: str | None = None,
                      token: str | None = None, storage_url: str | None = None,
                      cls: type[Credentials] = Credentials, **options: Any) -> Credentials:
    """:class:`~velocity.auth.Credentials` from loose options: the one
    builder behind ``Connection(...)``, ``Velocity(...)``, the command line
    and :meth:`~velocity.auth.Credentials.from_env`, so they all read the
    same options the same way.

    :param identity: one of :data:`IDENTITIES`; ``None`` guesses it from
        ``auth_url`` (:func:`guess_identity`), and errors then say what was
        guessed
    :param user: user name (``account:user`` for v1; the owner of an
        application credential given by name)
    :param key: key, API key, password or application credential secret
    :param options: passed on to :class:`~velocity.auth.Credentials`
        (``timeout``, ``endpoint_override``, ``cacert``, ``insecure``,
        ``cert``, ``cert_key``, ``service_type``)
    :raises ConfigurationError: the options do not make a login; the message
        names what is missing
    """
    guessed = identity is None or str(identity).lower() in ("", "auto")
    kind = guess_identity(auth_url) if guessed else str(identity).lower().replace("-", "_")
    kind = _ALIASES.get(kind, kind) or guess_identity(auth_url)
    if kind not in IDENTITIES:
        raise ConfigurationError("unknown identity %r: use one of %s, or None to guess it "
                                 "from the auth URL" % (identity, ", ".join(IDENTITIES)))
    what = _NAMES[kind] + (" (guessed from the auth URL %s)" % auth_url if guessed else "")
    if guessed:
        log.debug("identity %s guessed from the auth URL %s", kind, auth_url)
    where = {"region": region, "interface": interface or "public", "internal": internal,
             **options}
    try:
        return _build(cls, kind, where, auth_url=auth_url, user=user, key=key,
                      project_name=project_name, project_id=project_id, user_id=user_id,
                      user_domain_name=user_domain_name, user_domain_id=user_domain_id,
                      project_domain_name=project_domain_name,
                      project_domain_id=project_domain_id, version=version,
                      credential_id=credential_id, credential_name=credential_name,
                      token=token, storage_url=storage_url)
    except ConfigurationError as exc:
        if guessed and "guessed" not in exc.message:
            raise ConfigurationError("%s: %s" % (what, exc.message)) from None
        raise


def _build(cls: type[Credentials], kind: str, where: dict[str, Any], *, auth_url: str | None,
           user: str | None, key: str | None, token: str | None, storage_url: str | None,
           credential_id: str | None, credential_name: str | None, version: str | None,
           **keystone: Any) -> Credentials:
    if kind == "preauthenticated":
        where.pop("internal")
        where.pop("region")
        where.pop("interface")
        return cls.preauthenticated(storage_url, token or key, **where)  # type: ignore
    if kind == "v1":
        internal = where.pop("internal") or _interface(where.pop("interface")) == "internal"
        return cls.v1(auth_url, user, key, internal=internal, **where)  # type: ignore
    if kind == "rackspace":
        return cls.rackspace(user, key, auth_url or RACKSPACE_AUTH_URL,  # type: ignore
                             **where)
    if kind == "token":
        return cls.token(auth_url, token or key, version=version,  # type: ignore
                         project_name=keystone["project_name"],
                         project_id=keystone["project_id"],
                         project_domain_name=keystone["project_domain_name"],
                         project_domain_id=keystone["project_domain_id"], **where)
    if kind == "application_credential":
        if credential_name and not credential_id:  # by name: user is the owner
            return cls.application_credential(
                auth_url, None, key, credential_name=credential_name,  # type: ignore
                username=user, user_id=keystone["user_id"],
                user_domain_name=keystone["user_domain_name"],
                user_domain_id=keystone["user_domain_id"], **where)
        return cls.application_credential(
            auth_url, credential_id or user, key, username=None if not credential_id  # type: ignore
            else user, user_id=keystone["user_id"], **where)
    if keystone["project_id"]:
        keystone["project_name"] = None
    return cls.password(auth_url, user, key, version=version, **keystone,  # type: ignore
                        **where)


def _need(env: _Env, what: str, *names: str) -> None:
    missing = [name for name in names if not env.has(name)]
    if missing:
        raise _missing(missing, "%s needs %s" % (what, " and ".join(names)))
