"""Logging in from the command line: the key, the credentials the flags and
``OS_*`` / ``ST_*`` variables make, and a client that fails fast when the
identity service cannot be reached at all."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import socket
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from velocity import errors
from velocity._log import muted

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

IDENTITIES = ("v1", "rackspace", "password", "application_credential")


class UsageError(errors.ConfigurationError):
    """A command line that cannot work (exit status 2)."""


def read_key(args: argparse.Namespace) -> str | None:
    if args.key == "-":
        key = sys.stdin.readline().rstrip("\r\n")
        if not key:
            raise UsageError("--key -: standard input held no key")
        return key
    if args.key_prompt:
        import getpass

        return getpass.getpass("Key for %s: " % (args.user or "velocity"))
    return args.key


def credentials(args: argparse.Namespace, key: str | None,
                env: Mapping[str, str] | None = None) -> Any:
    """Credentials from the command line laid over ``OS_*`` / ``ST_*``.

    Without login flags, exactly :meth:`velocity.auth.Credentials.from_env`.
    With them, the flags win and whatever they leave unsaid (domains, project
    id, identity API version, region ...) comes from the environment; the
    identity flavour is guessed from the auth URL as every face guesses it
    (:func:`velocity.auth.guess_identity`) unless ``--identity`` says it."""
    from velocity.auth import Credentials, build_credentials, env_defaults

    env = dict(os.environ if env is None else env)
    if args.region:
        env["OS_REGION_NAME"] = args.region
    if args.internal:
        env["OS_INTERFACE"] = "internal"
    if not (args.auth_url or args.user or key or args.identity or args.project):
        return Credentials.from_env(env)
    identity = args.identity
    st_auth = not args.auth_url and env.get("ST_AUTH")
    auth_url = args.auth_url or env.get("ST_AUTH") or env.get("OS_AUTH_URL")
    if identity is None and st_auth:
        identity = "v1"  # the swift CLI's variables are v1 auth
    if identity == "application_credential":
        user = args.user or env.get("OS_APPLICATION_CREDENTIAL_ID")
        key = key or env.get("OS_APPLICATION_CREDENTIAL_SECRET")
    else:
        user = args.user or env.get("ST_USER") or env.get("OS_USERNAME")
        key = key or env.get("ST_KEY") or env.get("OS_API_KEY") or env.get("OS_PASSWORD")
    missing = [flag for flag, value in (("--user", user), ("--key", key)) if not value]
    if identity != "rackspace" and not auth_url:
        missing.insert(0, "--auth-url")
    if missing:
        raise UsageError("missing %s (or the matching OS_* / ST_* variables)"
                         % ", ".join(missing))
    options = env_defaults(env)
    if args.user:
        options.pop("user_id", None)  # a user named on the command line wins
    if args.project:
        options["project_name"] = args.project
        options.pop("project_id", None)
    if identity == "application_credential":
        options.pop("credential_name", None)
    storage_url = env.get("OS_STORAGE_URL")
    if storage_url:
        options["endpoint_override"] = storage_url
    for option, variable in (("cacert", "OS_CACERT"), ("cert", "OS_CERT"),
                             ("cert_key", "OS_KEY")):
        if env.get(variable):
            options[option] = env[variable]
    if env.get("OS_INSECURE", "").lower() in ("1", "true", "yes", "on"):
        options["insecure"] = True
    return build_credentials(identity, auth_url=auth_url, user=user, key=key, **options)


def prepare(args: argparse.Namespace) -> Any:
    """Read the key (once) and build ``args.credentials``."""
    if getattr(args, "credentials", None) is None:
        key = read_key(args)
        if key:
            args.secrets.insert(0, key)
        args.credentials = credentials(args, key)
    return args.credentials


def client(args: argparse.Namespace) -> Any:
    """A logged-in :class:`~velocity.client.SwiftClient` (exit 2 when the
    login is refused or the identity service refuses the connection)."""
    from velocity.client import RetryPolicy, SwiftClient

    creds = prepare(args)
    retries = getattr(args, "retries", None)
    policy = RetryPolicy(retries=retries) if retries is not None else RetryPolicy()
    swift = SwiftClient(creds, retry=RetryPolicy(retries=0))
    _login(swift, policy, creds, getattr(args, "debug", False))
    swift.retry = policy
    return swift


def config(args: argparse.Namespace) -> Any:
    """The :class:`~velocity.transfer.TransferConfig` the flags describe."""
    from velocity.transfer import TransferConfig

    settings: dict[str, Any] = {name: getattr(args, name, None) for name in (
        "segment_size", "object_threads", "segment_threads", "skip_identical", "changed",
        "leave_segments", "retries")}
    if settings["segment_size"]:  # as with swift: files larger than SIZE are segmented
        settings["segment_threshold"] = min(settings["segment_size"], 5 * 1024 ** 3)
    if getattr(args, "no_resume", False):
        settings["resume"] = False
    if getattr(args, "ignore_checksum", False):
        settings["checksum"] = False
    return TransferConfig(**{k: v for k, v in settings.items()
                             if (v is not None and v is not False) or k in ("resume",
                                                                            "checksum")})


def manager(args: argparse.Namespace, swift: Any) -> Any:
    from velocity.transfer import TransferManager

    return TransferManager(swift, config(args))


def _login(swift: Any, policy: Any, creds: Any, debug: bool) -> None:
    """Log in once without retries; a refused connection (or a host name that
    does not exist) ends here with one line, anything transient is tried
    again with the normal retries.  The client's own "giving up" warnings
    stay quiet: the one error line says it all (``--debug`` shows them)."""
    with contextlib.nullcontext() if debug else muted():
        try:
            swift.get_auth()
        except errors.VelocityError as error:
            problem = unreachable(error)
            if problem and creds.auth_url:
                raise errors.AuthenticationError("cannot reach the identity service at %s: %s"
                                                 % (origin(creds.auth_url), problem)) from None
            if (isinstance(error, errors.ConfigurationError) or policy.retries == 0 or (
                    error.status is not None and error.status not in (408, 429, 498)
                    and error.status < 500)):
                raise
            swift.retry = policy
            swift.get_auth()


def unreachable(error: BaseException) -> str | None:
    """``"connection refused"`` or ``"unknown host"`` when that is what lies
    behind ``error`` (its causes, contexts and urllib3 reasons), else ``None``."""
    seen: set[int] = set()
    todo: list[Any] = [error]
    while todo:
        exc = todo.pop()
        if not isinstance(exc, BaseException) or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError) or (
                isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED):
            return "connection refused"
        if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_NONAME:
            return "unknown host"
        todo += [exc.__cause__, exc.__context__, getattr(exc, "reason", None),
                 *[arg for arg in exc.args if isinstance(arg, BaseException)]]
    return None


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (the port spelt out)."""
    parts = urlsplit(url)
    scheme = parts.scheme or "https"
    host = parts.hostname or url
    if ":" in host:
        host = "[%s]" % host
    try:
        port = parts.port
    except ValueError:
        port = None
    return "%s://%s:%d" % (scheme, host, port or (443 if scheme == "https" else 80))
