"""The :class:`Credentials` every face of Velocity logs in with."""

from __future__ import annotations

import os
import ssl
import threading
import weakref
from collections.abc import Mapping
from urllib.parse import urlsplit

from velocity._log import log
from velocity._wire import Loaded, tls_context
from velocity.auth.v1 import PreAuth, StorageTokenAuth, V1Auth
from velocity.auth.v1 import interface as _interface
from velocity.consts import CDN_SERVICE_TYPE, RACKSPACE_AUTH_URL
from velocity.errors import AuthenticationError, ConfigurationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from velocity.auth.plugins import Payload


_REPLACEABLE = frozenset({"region", "interface", "endpoint_override", "timeout",
                          "service_type", "cacert", "insecure", "cert", "cert_key"})

# every Credentials alive, so a forked child gets fresh locks
_ALL: weakref.WeakSet[Credentials] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for creds in list(_ALL):
        creds._lock = threading.Lock()
        creds._session = None
        if hasattr(creds.plugin, "_lock"):  # a lock held by a thread that is gone
            creds.plugin._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- Credentials -----------------------------------------------------------------


class Credentials:
    """How to log in, and where the object store is.

    Build one with a class method (:meth:`v1`, :meth:`rackspace`,
    :meth:`password`, :meth:`application_credential`, :meth:`token`,
    :meth:`from_payload`, :meth:`preauthenticated`, :meth:`from_env`).
    :meth:`session` returns the one keystoneauth1 session every connection made
    from these credentials shares; :meth:`endpoint` the storage URL.

    :ivar kind: ``"v1"``, ``"rackspace"``, ``"password"``,
        ``"application_credential"``, ``"token"``, ``"payload"`` or
        ``"preauthenticated"``
    :ivar region: catalog region of the object store, or ``None`` for the
        user's default region (Rackspace) or the first one in the catalog
    :ivar interface: ``"public"`` or ``"internal"`` (ServiceNet)
    :ivar endpoint_override: a storage URL used instead of the catalog's
    :ivar cacert: a CA bundle file to verify HTTPS servers with (identity
        and storage), instead of the system's / certifi's (``OS_CACERT``)
    :ivar insecure: do not verify HTTPS certificates (``OS_INSECURE``)
    :ivar cert: a client certificate file (PEM) to present (``OS_CERT``)
    :ivar cert_key: its private key file, when not inside ``cert`` (``OS_KEY``)

    Every constructor takes ``cacert``, ``insecure``, ``cert`` and
    ``cert_key`` as keyword options; they apply to every request, whichever
    transport sends it.
    """

    def __init__(self, kind: str, plugin: Any, *,
                 auth_url: str | None = None, username: str | None = None,
                 region: str | None = None, interface: str = "public",
                 service_type: str = "object-store", timeout: float | None = None,
                 endpoint_override: str | None = None, cacert: str | None = None,
                 insecure: bool = False, cert: str | None = None,
                 cert_key: str | None = None) -> None:
        self.kind = kind
        self.plugin = plugin
        self.auth_url = auth_url
        self.username = username
        self.region = region or None
        self.interface = _interface(interface)
        self.service_type = service_type
        self.timeout = timeout
        self.endpoint_override = endpoint_override or None
        self.cacert = os.fspath(cacert) if cacert else None
        self.insecure = bool(insecure)
        self.cert = os.fspath(cert) if cert else None
        self.cert_key = os.fspath(cert_key) if cert_key else None
        self._session: Any = None  # a keystoneauth1 Session, made when first needed
        self._tls: ssl.SSLContext | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        _ALL.add(self)

    def __repr__(self) -> str:
        fields = ["kind=%r" % self.kind]
        if self.auth_url:
            fields.append("auth_url=%r" % self.auth_url)
        if isinstance(self.plugin, PreAuth):
            fields.append("storage_url=%r" % self.plugin.storage_url)
        if self.username:
            fields.append("username=%r" % self.username)
        if self.region:
            fields.append("region=%r" % self.region)
        fields.append("interface=%r" % self.interface)
        return "Credentials(%s)" % ", ".join(fields)

    # -- constructors --------------------------------------------------------

    @classmethod
    def v1(cls, auth_url: str, user: str, key: str, *, internal: bool = False,
           **options: Any) -> Credentials:
        """Swift v1.0 auth (tempauth, swauth, legacy Cloud Files at
        :data:`RACKSPACE_V1_AUTH_URL`): ``user`` is often ``account:user``.
        ``internal=True`` uses Rackspace ServiceNet (``snet-`` storage URL)."""
        _require(auth_url=auth_url, user=user, key=key)
        return cls("v1", V1Auth(auth_url, user, key, internal=internal), auth_url=auth_url,
                   username=user, interface="internal" if internal else "public", **options)

    @classmethod
    def rackspace(cls, username: str, api_key: str, auth_url: str = RACKSPACE_AUTH_URL, *,
                  region: str | None = None, interface: str = "public",
                  internal: bool = False, **options: Any) -> Credentials:
        """Rackspace Cloud identity with an API key (what ``Velocity`` does
        by default).  ``region`` is e.g. ``"DFW"`` (any case;
        default: the user's default region); ``internal=True`` picks the
        ServiceNet (internal) URLs."""
        from velocity.auth.plugins import RackspaceAuth

        _require(username=username, api_key=api_key, auth_url=auth_url)
        if "://" in username:
            raise ConfigurationError("Credentials.rackspace(username, api_key, auth_url=...): "
                                     "the user name looks like a URL; check the argument order")
        return cls("rackspace", RackspaceAuth(username, api_key, auth_url), auth_url=auth_url,
                   username=username, region=region, interface=_interface(interface, internal),
                   **options)

    @classmethod
    def from_payload(cls, auth_url: str, payload: Payload, *, region: str | None = None,
                     interface: str = "public", internal: bool = False,
                     tenant_id: str | None = None, tenant_name: str | None = None,
                     username: str | None = None, **options: Any) -> Credentials:
        """Any identity v2 login: ``POST {auth_url}/tokens`` with
        ``{"auth": payload}``.  ``payload`` is a mapping, or a function with no
        arguments returning one (called at each authentication).  ``username``
        only labels the credentials in ``repr()`` and logs."""
        from velocity.auth.plugins import PayloadAuth

        _require(auth_url=auth_url, payload=payload)
        plugin = PayloadAuth(auth_url, payload, tenant_id=tenant_id, tenant_name=tenant_name)
        return cls("payload", plugin, auth_url=auth_url, username=username, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def preauthenticated(cls, storage_url: str, token: str, **options: Any) -> Credentials:
        """A storage URL and a token obtained elsewhere (``OS_STORAGE_URL`` +
        ``OS_AUTH_TOKEN``).  It cannot be renewed when it expires."""
        _require(storage_url=storage_url, token=token)
        return cls("preauthenticated", PreAuth(storage_url, token), **options)

    @classmethod
    def password(cls, auth_url: str, username: str | None, password: str, *,
                 project_name: str | None = None, project_id: str | None = None,
                 user_domain_name: str | None = None, user_domain_id: str | None = None,
                 project_domain_name: str | None = None,
                 project_domain_id: str | None = None, user_id: str | None = None,
                 region: str | None = None, interface: str = "public",
                 internal: bool = False, version: str | None = None,
                 **options: Any) -> Credentials:
        """Keystone password login.

        Identity v3 unless ``auth_url`` ends in ``/v2.0`` or ``version="2"``;
        an ``auth_url`` without a version gets ``/v3`` (or ``/v2.0``) appended.
        The user's domain defaults to ``default``; the project's domain to the
        user's.  Without a project, Keystone scopes the token to the user's
        default project.
        """
        _require(auth_url=auth_url, password=password, **{"username or user_id":
                                                          username or user_id})
        from keystoneauth1.identity import v2, v3

        auth_url, major = _versioned_url(auth_url, version)
        plugin: Any
        if major == "2":
            plugin = v2.Password(auth_url=auth_url, username=username, password=password,
                                 user_id=user_id, tenant_name=project_name,
                                 tenant_id=project_id)
        else:
            user_domain_name, user_domain_id, project_domain_name, project_domain_id = \
                _domains(user_domain_name, user_domain_id, project_domain_name,
                         project_domain_id, project_name)
            plugin = v3.Password(
                auth_url=auth_url, username=username, user_id=user_id, password=password,
                user_domain_name=user_domain_name if username else None,
                user_domain_id=user_domain_id if username else None,
                project_name=project_name, project_id=project_id,
                project_domain_name=project_domain_name, project_domain_id=project_domain_id)
        return cls("password", plugin, auth_url=auth_url, username=username or user_id,
                   region=region, interface=_interface(interface, internal), **options)

    @classmethod
    def application_credential(
            cls, auth_url: str, credential_id: str | None = None, secret: str | None = None,
            *, credential_name: str | None = None, username: str | None = None,
            user_id: str | None = None, user_domain_name: str | None = None,
            user_domain_id: str | None = None, region: str | None = None,
            interface: str = "public", internal: bool = False,
            **options: Any) -> Credentials:
        """Keystone v3 application credential: by ``credential_id``, or by
        ``credential_name`` plus the owner (``user_id``, or ``username`` with
        its domain, default ``default``).  The token is scoped to the project
        the credential was made for."""
        _require(auth_url=auth_url, secret=secret)
        if not (credential_id or credential_name):
            raise ConfigurationError("an application credential needs credential_id "
                                     "(OS_APPLICATION_CREDENTIAL_ID) or credential_name "
                                     "(OS_APPLICATION_CREDENTIAL_NAME)")
        if not credential_id and not (user_id or username):
            raise ConfigurationError(
                "an application credential given by name needs its owner: username "
                "(OS_USERNAME) or user_id (OS_USER_ID)")
        from keystoneauth1.identity import v3

        auth_url, major = _versioned_url(auth_url, "3")
        if username and not (user_domain_name or user_domain_id):
            user_domain_id = "default"
        plugin = v3.ApplicationCredential(
            auth_url=auth_url, application_credential_secret=secret,  # type: ignore[arg-type]
            application_credential_id=credential_id,
            application_credential_name=None if credential_id else credential_name,
            user_id=user_id, username=username, user_domain_id=user_domain_id,
            user_domain_name=user_domain_name)
        return cls("application_credential", plugin, auth_url=auth_url,
                   username=username or user_id, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def token(cls, auth_url: str, token: str, *, project_name: str | None = None,
              project_id: str | None = None, project_domain_name: str | None = None,
              project_domain_id: str | None = None, region: str | None = None,
              interface: str = "public", internal: bool = False, version: str | None = None,
              **options: Any) -> Credentials:
        """Log in with an existing Keystone token (identity v3 unless
        ``auth_url`` ends in ``/v2.0``), rescoped to a project if one is given.
        For a token plus a storage URL without an identity service use
        :meth:`preauthenticated`."""
        _require(auth_url=auth_url, token=token)
        from keystoneauth1.identity import v2, v3

        auth_url, major = _versioned_url(auth_url, version)
        plugin: Any
        if major == "2":
            plugin = v2.Token(auth_url=auth_url, token=token, tenant_name=project_name,
                              tenant_id=project_id)
        else:
            if project_name and not (project_domain_name or project_domain_id):
                project_domain_id = "default"
            plugin = v3.Token(auth_url=auth_url, token=token, project_name=project_name,
                              project_id=project_id, project_domain_name=project_domain_name,
                              project_domain_id=project_domain_id)
        return cls("token", plugin, auth_url=auth_url, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> Credentials:
        """Credentials from environment variables (``os.environ`` by default).

        Understands an OpenStack RC file (``OS_AUTH_URL``, ``OS_USERNAME``,
        ``OS_PASSWORD``, ``OS_PROJECT_NAME`` ..., ``OS_APPLICATION_CREDENTIAL_*``,
        ``OS_AUTH_TOKEN``, ``OS_AUTH_TYPE``), a pre-authenticated
        ``OS_STORAGE_URL`` + ``OS_AUTH_TOKEN``, and the swift CLI's v1
        ``ST_AUTH``, ``ST_USER``, ``ST_KEY``.  ``OS_REGION_NAME`` and
        ``OS_INTERFACE`` (or ``OS_ENDPOINT_TYPE``) choose the endpoint.

        :raises ConfigurationError: settings are missing or contradict each
            other; the message names the variables to set.
        """
        from velocity.auth.options import credentials_from_env

        return credentials_from_env(os.environ if env is None else env, options, cls)

    def replace(self, **changes: Any) -> Credentials:
        """A copy with some settings changed (``region``, ``interface``,
        ``endpoint_override``, ``timeout``, ``service_type``, ``cacert``,
        ``insecure``, ``cert``, ``cert_key``); this object is not changed.
        The copy shares the login plugin, so both use one token."""
        unknown = set(changes) - _REPLACEABLE
        if unknown:
            raise ConfigurationError("Credentials.replace() cannot change %s; it changes %s"
                                     % (", ".join(sorted(unknown)),
                                        ", ".join(sorted(_REPLACEABLE))))
        import copy

        new = copy.copy(self)
        for name, value in changes.items():
            setattr(new, name, value)
        new.region = new.region or None
        new.interface = _interface(new.interface)
        new._session = None
        new._tls = None
        new._lock = threading.Lock()
        _ALL.add(new)
        return new

    # -- the shared session ----------------------------------------------------

    def session(self) -> Any:
        """The keystoneauth1 session shared by every connection made from these
        credentials (a new one in a forked child: sockets are not shared across
        processes, the token is kept).  v1 and pre-authenticated logins do
        not need one (:mod:`velocity.auth.v1`); theirs, made on demand for
        code that wants a keystoneauth1 session, uses the same token."""
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                from velocity._keystoneauth import session as ksa_session

                auth = self.plugin
                if _direct_login(auth):
                    from velocity.auth.plugins import _Adapter

                    auth = _Adapter(self)
                self._session = ksa_session.Session(
                    auth=auth, timeout=self.timeout,
                    verify=False if self.insecure else (self.cacert or True),
                    cert=(self.cert, self.cert_key) if self.cert and self.cert_key
                    else self.cert)
                self._pid = os.getpid()
            return self._session

    def tls(self) -> ssl.SSLContext:
        """The TLS context of every HTTPS request Velocity sends itself with
        these settings (``cacert``, ``insecure``, ``cert``, ``cert_key``).

        :raises ConfigurationError: a file cannot be used
        """
        if self._tls is None:
            try:
                self._tls = tls_context(self.cacert, self.insecure, self.cert, self.cert_key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    "cannot use the TLS files (cacert=%r, cert=%r, cert_key=%r): %s"
                    % (self.cacert, self.cert, self.cert_key, exc)) from None
        return self._tls

    def get_token(self) -> str:
        """The current token (authenticates if needed).  Keep it secret."""
        if _direct_login(self.plugin):
            token = self.plugin.get_token(self)
        else:
            token = self.session().get_token()
        if not token:
            raise AuthenticationError("the identity service returned no token")
        return token

    def invalidate(self, token: str | None = None) -> bool:
        """Forget the token so the next request authenticates again.

        With ``token``, only if it is still the current one: when many threads
        see the same expired token, the first one renews it and the others
        reuse the new token.  Returns ``False`` if the token cannot be renewed
        (pre-authenticated credentials).
        """
        with self._lock:
            if token is not None:
                current = _current_token(self.plugin)
                if current is not None and current != token:
                    return True  # already renewed by another thread
                if current is None and not isinstance(self.plugin, PreAuth):
                    return True  # already invalidated, renewal pending
            renewable = bool(self.plugin.invalidate())
        if renewable:
            log.info("token renewal: authenticating again as %r", self.username)
        return renewable

    def _access(self) -> Any:
        if _identity(self.plugin):
            return self.plugin.get_access(self.session())
        return None

    def endpoints(self, service_type: str | None = None) -> list[dict[str, str | None]]:
        """Every catalog endpoint (authenticates if needed), as dicts with
        ``service_type``, ``region``, ``interface`` and ``url``; filtered to
        one service type if given.  Empty for v1 and pre-authenticated
        credentials, which have no catalog."""
        access = self._access()
        if access is None or access.service_catalog is None:
            return []
        found = access.service_catalog.get_endpoints_data(service_type=service_type)
        return [{"service_type": stype, "region": data.region_name,
                 "interface": _interface(data.interface) if data.interface else None,
                 "url": data.catalog_url}
                for stype, items in found.items() for data in items]

    def regions(self, service_type: str | None = None) -> list[str]:
        """Regions the catalog offers ``service_type`` (default: the object
        store) in, in catalog order."""
        seen: list[str] = []
        for ep in self.endpoints(service_type or self.service_type):
            if ep["region"] and ep["region"] not in seen:
                seen.append(ep["region"])  # type: ignore[arg-type]
        return seen

    def endpoint(self, service_type: str | None = None, *, interface: str | None = None,
                 region: str | None = None) -> str:
        """The URL of ``service_type`` (default: the object store, i.e. the
        storage URL) for this region and interface; authenticates if needed.

        :raises AuthenticationError: the catalog has no such endpoint; the
            message lists the regions (or interfaces) it offers.
        """
        service_type = service_type or self.service_type
        interface = _interface(interface) if interface else self.interface
        region = region or self.region
        if self.endpoint_override and service_type == self.service_type:
            return self.endpoint_override
        if not _identity(self.plugin):
            via = self if _direct_login(self.plugin) else self.session()
            url = self.plugin.get_endpoint(via, service_type=service_type,
                                           interface=interface, region_name=region)
            if not url:
                raise AuthenticationError("no %s endpoint for %s credentials"
                                          % (service_type, self.kind))
            return url
        from velocity.auth.catalog import catalog_url, no_endpoint_message

        url = catalog_url(self, service_type, interface, region)
        if url is None:
            raise AuthenticationError(no_endpoint_message(self, service_type, interface, region))
        return url

    def cdn_url(self) -> str | None:
        """The Rackspace CDN management URL (service ``rax:object-cdn``, or a
        v1 answer's ``X-CDN-Management-Url``) for this region, or ``None``
        when the account has no CDN service."""
        if isinstance(self.plugin, StorageTokenAuth):
            self.plugin.get_token(self)
            return self.plugin.cdn_url
        if not _identity(self.plugin):
            return None
        from velocity.auth.catalog import catalog_url

        # the CDN API has public URLs only
        return (catalog_url(self, CDN_SERVICE_TYPE, self.interface, self.region)
                or catalog_url(self, CDN_SERVICE_TYPE, "public", self.region))

    @property
    def os_options(self) -> dict[str, Any]:
        """What python-swiftclient needs to pick the endpoint from the session."""
        return {"service_type": self.service_type, "endpoint_type": self.interface,
                "region_name": self.region}


# -- helpers ---------------------------------------------------------------------


def _direct_login(plugin: Any) -> bool:
    """A login of :mod:`velocity.auth.v1` (no keystoneauth1 needed)."""
    return isinstance(plugin, (StorageTokenAuth, PreAuth))


_ksa_identity = Loaded("keystoneauth1.identity.base")


def _identity(plugin: Any) -> bool:
    """A keystoneauth1 identity plugin (with a catalog)."""
    return isinstance(plugin, _ksa_identity.BaseIdentityPlugin)


def _current_token(plugin: Any) -> str | None:
    current = getattr(plugin, "current_token", None)
    if current is not None:
        return current()
    if _identity(plugin):
        return plugin.auth_ref.auth_token if plugin.auth_ref else None
    return None


def _require(**values: Any) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError("missing credential setting(s): %s" % ", ".join(missing))


def _versioned_url(auth_url: str, version: str | None) -> tuple[str, str]:
    """``(auth_url with a version path, "2" or "3")``."""
    url = auth_url.rstrip("/")
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    found = "2" if last in ("v2.0", "v2") else "3" if last in ("v3", "v3.0") else None
    wanted = None
    if version:
        wanted = str(version).lower().lstrip("v").split(".")[0]
        if wanted not in ("2", "3"):
            raise ConfigurationError("identity API version %r is not supported here: use 2 "
                                     "or 3 (or Credentials.v1 for v1.0)" % version)
    if found and wanted and found != wanted:
        raise ConfigurationError(
            "the auth URL %s is identity v%s but version %s was asked for "
            "(OS_IDENTITY_API_VERSION): make them agree" % (auth_url, found, wanted))
    major = found or wanted or "3"
    if not found:
        url += "/v2.0" if major == "2" else "/v3"
    return url, major


def _domains(user_domain_name: str | None, user_domain_id: str | None,
             project_domain_name: str | None, project_domain_id: str | None,
             project_name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    if not (user_domain_name or user_domain_id):
        user_domain_id = "default"
    if project_name and not (project_domain_name or project_domain_id):
        project_domain_name, project_domain_id = user_domain_name, user_domain_id
    return user_domain_name, user_domain_id, project_domain_name, project_domain_id


