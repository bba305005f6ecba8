"""``Velocity``: whole folders to and from a container, from asyncio.

::

    velocity = Velocity(None, USERNAME, API_KEY, REGION)
    velocity.authenticate()
    velocity.create_container("backups")
    results = await velocity.process("backups", "UPLOAD", "/data/backups")
    await velocity.close_session()
    for error in velocity.errors:
        print(error)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, Union

from velocity import errors as _errors
from velocity._log import log
from velocity.aio.bridge import DEFAULT_MAX_WORKERS, WorkerPool
from velocity.aio.model import AsyncConnection
from velocity.auth import RACKSPACE_AUTH_URL, Credentials, build_credentials, env_defaults
from velocity.client import RetryPolicy, SwiftClient
from velocity.names import check_container_name
from velocity.progress import ProgressSubscriber
from velocity.transfer.localfs import walk

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from velocity.connection import Connection
    from velocity.transfer import TransferConfig, TransferManager, TransferResult

__all__ = ["Velocity", "ErrorEntry", "make_credentials", "ACTIONS", "Identity",
           "PayloadFactory"]

T = TypeVar("T")

#: the actions :meth:`Velocity.process` knows (given in any case)
ACTIONS = ("HEAD", "DELETE", "UPLOAD", "DOWNLOAD")

#: ``identity=`` may also be a callable ``(username, key) -> payload dict``
PayloadFactory = Callable[[str, str], Mapping[str, Any]]
Identity = Union[str, Credentials, PayloadFactory]


@dataclass
class ErrorEntry:
    """One failure that :meth:`Velocity.process` collected in
    ``velocity.errors``: ``str(entry)`` names the action, the object (or the
    folder, when the whole run failed) and the reason.

    :ivar action: ``"UPLOAD"``, ``"DOWNLOAD"``, ``"HEAD"`` or ``"DELETE"``
        (``"AUTHENTICATE"``, ``"CREATE_CONTAINER"`` for those calls)
    :ivar container: the container
    :ivar name: the object name, or ``None`` when the whole run failed
    :ivar path: the local file or folder concerned, if any
    :ivar error: the :class:`~velocity.errors.VelocityError`
    :ivar result: the item's :class:`~velocity.transfer.TransferResult`, if any
    """

    action: str
    container: str | None
    name: str | None
    path: str | None
    error: _errors.VelocityError
    result: TransferResult | None = None

    def __str__(self) -> str:
        if self.name is not None:
            what = "%s of %r (container %r)" % (self.action, self.name, self.container)
        elif self.container is not None:
            what = "%s with container %r" % (self.action, self.container)
            if self.path:
                what += " and location %r" % self.path
        else:
            what = self.action
        return "%s failed: %s" % (what, self.error)


#: Keystone details a face taking only a user and a key fills from ``OS_*``
_KEYSTONE_FROM_ENV = ("project_name", "project_id", "user_domain_name", "user_domain_id",
                      "project_domain_name", "project_domain_id")


def make_credentials(username: str | None, key: str | None, region: str | None = None,
                     auth_url: str = RACKSPACE_AUTH_URL, internal: bool = False,
                     identity: Identity | None = None, **options: Any) -> Credentials:
    """The :class:`~velocity.auth.Credentials` that :class:`Velocity`'s
    options describe.

    :param identity: ``None`` (guessed from ``auth_url`` as every face
        guesses it: ``.../auth/v1.0`` is v1, Rackspace's identity an API key,
        other URLs Keystone), ``"rackspace"`` (API key), ``"password"``
        (Keystone v2 or v3, from the URL; project and domains from
        ``options`` or ``OS_*``), ``"v1"`` (tempauth / legacy Cloud Files),
        ``"application_credential"`` (``username`` is the credential id,
        ``key`` its secret; or pass ``credential_name=`` and ``username`` is
        its owner), ``"env"`` (everything from ``OS_*`` / ``ST_*``
        variables), a :class:`~velocity.auth.Credentials` (used as is), or a
        callable ``(username, key) -> payload dict`` for other identity
        services (the payload is POSTed to ``auth_url`` + ``/tokens``,
        Keystone v2 style).
    """
    if isinstance(identity, Credentials):
        return identity
    if isinstance(identity, str) and identity.lower() == "env":
        return Credentials.from_env(**options)
    if callable(identity):
        factory = identity
        return Credentials.from_payload(auth_url, lambda: factory(username or "", key or ""),
                                        region=region, internal=internal, username=username,
                                        **options)
    if identity is not None and not isinstance(identity, str):
        raise _errors.ConfigurationError(
            "identity must be 'rackspace', 'password', 'v1', 'application_credential', "
            "a velocity.auth.Credentials or a callable, got %s" % type(identity).__name__)
    keystone = {name: value for name, value in env_defaults().items()
                if name in _KEYSTONE_FROM_ENV and not options.get(name)}
    options = {name: value for name, value in options.items() if value is not None}
    return build_credentials(identity, auth_url=auth_url, user=username, key=key,
                             region=region, internal=internal, **keystone, **options)


class Velocity:
    """Velocity's asyncio API: whole folders to and from a container.

    :param loop: an event loop or ``None``.  Accepted so that the call
        ``Velocity(loop, username, key, region)`` works; never required and
        never used to run blocking work (each coroutine uses the loop it is
        awaited in).
    :param username: user name (for ``identity="application_credential"``:
        the credential id)
    :param key: API key (Rackspace), password (Keystone) or key (v1)
    :param region: catalog region of the object store (``None``: any)
    :param auth_url: identity URL (default: Rackspace's
        ``https://identity.api.rackspacecloud.com/v2.0``)
    :param internal: use internal (ServiceNet) endpoints
    :param identity: how to log in: ``None`` (default: guessed from
        ``auth_url``, so Rackspace's API key for the default URL, v1 for
        ``.../auth/v1.0``, Keystone otherwise), ``"rackspace"`` (API key),
        ``"password"`` (Keystone v2 or v3, chosen from the URL; project and
        domains from keyword arguments such as ``project_name=`` and
        ``user_domain_name=`` or from ``OS_*`` variables), ``"v1"``
        (tempauth, legacy Cloud Files), ``"application_credential"``,
        ``"env"`` (an OpenStack RC file's ``OS_*`` variables, or ``ST_*``), a
        :class:`~velocity.auth.Credentials`, or a callable
        ``(username, key) -> payload dict`` for an identity service Velocity
        does not know
    :param max_workers: size of the thread pool every blocking call runs in
    :param config: :class:`~velocity.transfer.TransferConfig` for the
        transfers (threads, segment size, checksums, ...)
    :param retry: a :class:`~velocity.client.RetryPolicy` for every request
        (default: 5 retries with backoff)
    :param identity_options: passed on to the credentials (``project_name``,
        ``user_domain_name``, ``timeout``, ...)

    :ivar errors: every failure :meth:`process` collected, as
        :class:`ErrorEntry` objects (``print(entry)`` names the object and the
        reason); it grows across calls, clear it with ``velocity.errors.clear()``
    :ivar client: the :class:`~velocity.client.SwiftClient` under it

    Use ``async with Velocity(...) as velocity:`` or ``await
    velocity.close_session()`` (the same as ``await velocity.close()``) when done.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 username: str | None = None, key: str | None = None,
                 region: str | None = None, auth_url: str = RACKSPACE_AUTH_URL,
                 internal: bool = False, identity: Identity | None = None, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 config: TransferConfig | None = None, retry: RetryPolicy | None = None,
                 **identity_options: Any) -> None:
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise _errors.ConfigurationError(
                "loop must be an asyncio event loop or None, got %s (the arguments are "
                "Velocity(loop, username, key, region, ...))" % type(loop).__name__)
        self.loop = loop
        self.username = username
        self.region = region
        self.auth_url = auth_url
        self.internal = internal
        self.config = config
        self.credentials = make_credentials(username, key, region, auth_url, internal,
                                            identity, **identity_options)
        #: how it logs in: the ``identity`` given, or the flavour guessed from ``auth_url``
        self.identity = identity if isinstance(identity, str) else (
            "credentials" if isinstance(identity, Credentials) else
            "callable" if callable(identity) else self.credentials.kind)
        self.client = SwiftClient(self.credentials, retry=retry)
        self.errors: list[ErrorEntry] = []
        self._pool = WorkerPool(max_workers, "velocity-aio")

    def __repr__(self) -> str:
        return "Velocity(%r)" % (self.credentials,)

    def _record(self, action: str, container: Any, path: Any,
                error: _errors.VelocityError, name: str | None = None,
                result: TransferResult | None = None) -> None:
        self.errors.append(ErrorEntry(
            str(action), container if isinstance(container, str) else None, name,
            path if isinstance(path, str) else None, error, result))

    # -- plain calls ---------------------------------------------------------------------

    def authenticate(self) -> None:
        """Log in now (a plain, blocking call); raises
        :class:`~velocity.errors.AuthenticationFailed` when refused (and
        records it in :attr:`errors`).  Inside a running loop prefer ``await
        velocity.authenticate_async()``."""
        try:
            self.client.get_auth()
        except _errors.VelocityError as error:
            self._record("AUTHENTICATE", None, None, error)
            raise

    def create_container(self, name: str) -> None:
        """Create container ``name`` unless it exists (a plain, blocking
        call; see :meth:`create_container_async`).  A failure is raised and
        recorded in :attr:`errors`."""
        try:
            check_container_name(name)
            self.client.put_container(name)
        except _errors.VelocityError as error:
            self._record("CREATE_CONTAINER", name, None, error)
            raise

    async def authenticate_async(self) -> None:
        """:meth:`authenticate`, run in the pool."""
        await self._pool.run(self.authenticate)

    async def create_container_async(self, name: str) -> None:
        """:meth:`create_container`, run in the pool."""
        await self._pool.run(self.create_container, name)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking ``func(*args, **kwargs)`` in this Velocity's pool
        and await it (e.g. a :class:`~velocity.transfer.TransferManager` call)."""
        return await self._pool.run(func, *args, **kwargs)

    async def connection(self) -> AsyncConnection:
        """The async object model (:class:`~velocity.aio.AsyncConnection`) on
        this Velocity's credentials, client and pool."""
        from velocity.connection import Connection

        def make() -> Connection:
            connection = Connection(credentials=self.credentials)
            connection.client.close()
            connection.client = self.client  # one core: same client, same connections
            return connection

        return AsyncConnection(await self._pool.run(make), pool=self._pool)

    # -- the work ------------------------------------------------------------------------

    async def process(self, container: str, action: str, location: str | os.PathLike[str], *,
                      progress: bool = False, subscribers: Any = None,
                      ) -> list[TransferResult]:
        """Run ``action`` for the folder ``location`` against ``container``.

        :param action: ``"UPLOAD"`` every file under ``location`` (object
            names are POSIX paths relative to it); ``"DOWNLOAD"`` every object
            of ``container`` into ``location``; ``"HEAD"``: check that each file
            under ``location`` exists in ``container``; ``"DELETE"`` the objects
            named after the files under ``location``.  Any case.
        :param location: a folder (or a single file for UPLOAD, HEAD and
            DELETE); DOWNLOAD makes it when it does not exist yet
        :param progress: show a ``tqdm`` bar (a widget in notebooks)
        :param subscribers: progress subscriber(s) (see
            :mod:`velocity.progress`), for every action; their callbacks run
            on the event loop's thread
        :returns: one :class:`~velocity.transfer.TransferResult` per item

        A failed item does not stop the others: it is appended to
        :attr:`errors` (an :class:`ErrorEntry` naming the object and the
        reason) and its result has ``ok=False``.  What stops the run before
        any item (an unknown action, a location that does not exist, a bad
        container name, a container that does not exist for DOWNLOAD or
        DELETE) is appended to :attr:`errors` and raised as a
        :class:`~velocity.errors.VelocityError`.  Cancelling the awaiting
        task cancels the transfer; nothing half-done is left behind.
        """
        verb = action.upper() if isinstance(action, str) else action
        where = os.fspath(location) if isinstance(location, (str, os.PathLike)) else location
        try:
            if verb not in ACTIONS:
                raise _errors.ConfigurationError(
                    "unknown action %r: use one of %s (any case)" % (action, ", ".join(ACTIONS)))
            if not isinstance(container, str):
                raise _errors.InvalidContainerName(
                    "container must be a str, got %s" % type(container).__name__)
            check_container_name(container)
            if not isinstance(where, str) or not where:
                raise _errors.ConfigurationError("location must be a folder path, got %r"
                                                 % (location,))
            where = os.path.abspath(os.path.expanduser(where))
        except _errors.VelocityError as error:
            self._record(verb, container, where, error)
            raise

        try:
            results = await self._pool.transfer(
                self.client, self.config, _process_work(verb, container, where),
                progress=progress, subscribers=subscribers, desc=verb.lower())
        except _errors.VelocityError as error:
            self._record(verb, container, where, error)
            raise
        except Exception as exc:  # noqa: BLE001 - a bug below us still becomes a clear error
            wrapped = _errors.VelocityError("%s failed: %s: %s" % (
                verb, exc.__class__.__name__, exc))
            self._record(verb, container, where, wrapped)
            raise wrapped from exc
        whole_run = None
        for result in results:
            if result.ok:
                continue
            failure = result.error or _errors.VelocityError("failed")
            if result.name is None:  # nothing to work on: the run as a whole failed
                whole_run = whole_run or _run_error(failure, container)
                self._record(verb, container, where, whole_run, None, result)
            else:
                self._record(verb, container, result.path, failure, result.name, result)
        if whole_run is not None:
            raise whole_run
        return results

    # -- closing -------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel unfinished transfers, wait for them, close the HTTP
        connections and the thread pool.  The object stays usable: a later
        call opens what it needs again.  Calling it twice is harmless."""
        await self._pool.drain()
        await self._pool.run(self.client.close)
        self._pool.shutdown()

    async def close_session(self) -> None:
        """The same as :meth:`close` (the name of the original Velocity API)."""
        await self.close()

    async def __aenter__(self) -> Velocity:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _run_error(error: _errors.VelocityError, container: str) -> _errors.VelocityError:
    """The error a run that found nothing to work on raises: a missing
    container says so in words."""
    if isinstance(error, _errors.NoSuchContainer):
        said = _errors.NoSuchContainer(
            "container %r does not exist" % container, status=error.status,
            reason=error.reason, method=error.method, path=error.path,
            request_id=error.request_id)
        said.__cause__ = error
        return said
    return error


def _process_work(action: str, container: str, location: str
                  ) -> Callable[[TransferManager, list[ProgressSubscriber]],
                                list[TransferResult]]:
    """What :meth:`Velocity.process` does on its pool thread."""

    def work(manager: TransferManager, subscribers: list[ProgressSubscriber]
             ) -> list[TransferResult]:
        if action == "DOWNLOAD":
            if os.path.exists(location) and not os.path.isdir(location):
                raise _errors.ConfigurationError(
                    "location %r is not a folder: DOWNLOAD needs a folder to write into"
                    % location)
            # a missing folder is made, as by TransferManager.download and the CLI
            return manager.download(container, out_dir=location, subscribers=subscribers)
        if not os.path.exists(location):
            raise _errors.ConfigurationError("location %r does not exist" % location)
        if action == "UPLOAD":  # names: POSIX paths relative to the folder
            return manager.upload(container, location, subscribers=subscribers)
        files = {entry.name: entry.path for entry in walk(location)}
        if not files:
            log.info("%s: no files under %s", action, location)
            return []
        names = list(files)
        if action == "DELETE":
            results = manager.delete(container, names, subscribers=subscribers)
        else:
            results = manager.head(container, names, subscribers=subscribers)
        for result in results:  # the local file each result corresponds to
            if getattr(result, "path", None) is None and result.name in files:
                result.path = files[result.name]
        return results

    return work
