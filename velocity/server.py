"""A real OpenStack Swift on 127.0.0.1, for demos, tests and your own test suite.

:class:`LocalSwift` starts the proxy, account, container and object servers of
the ``swift`` package (install ``velocity-swift[server]``) as child processes, on free
loopback ports, in a fresh temporary folder, and stops them and removes the
folder on exit::

    from velocity.server import LocalSwift

    with LocalSwift() as swift:
        print(swift.auth_url, swift.user, swift.key)

It is a single-replica, single-device cluster with the middlewares production
clusters run: tempauth, bulk (bulk delete and extract-archive), slo, dlo,
tempurl, formpost, copy, versioned_writes, symlink and container/account
quotas, plus an in-process info cache.  With ``keystone=`` a second proxy that
authenticates through Keystone (``authtoken`` + ``keystoneauth``) serves the
same storage; see :class:`LocalKeystone`.

This module also is a pytest plugin (registered under the ``pytest11`` entry
point): any test suite that has velocity installed can ask for the
session-scoped ``swift_server`` fixture.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from velocity._localserver import (
    ServerError,
    _free_port,
    _ini,
    _LocalServer,
    _tail,
    _wait_healthy,
)

__all__ = ["LocalSwift", "LocalKeystone", "ServerError", "swift_server"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_LAUNCHER = os.path.join(_HERE, "_swiftd", "launch.py")

#: tempauth users of every LocalSwift: ``user -> (key, is_admin)``
TEMPAUTH_USERS = {
    "test:tester": ("testing", True),
    "test:tester2": ("testing2", True),
    "test:tester3": ("testing3", False),
    "test2:tester2": ("testing2", True),
}

_PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats "
    "bulk tempurl formpost {auth} copy container-quotas account-quotas slo dlo "
    "versioned_writes symlink proxy-logging proxy-server"
)


class LocalSwift(_LocalServer):
    """A real single-node Swift cluster on 127.0.0.1, started and stopped by you.

    :param keystone: a running :class:`LocalKeystone`; adds a second proxy,
        ``keystone_storage_url``'s host, that accepts Keystone tokens.
    :param startup_timeout: seconds to wait for every server's healthcheck.
    :param base_dir: where to create the temporary folder (default: the
        system's temporary directory).

    Attributes, valid while started:

    ``auth_url``
        tempauth v1 URL, ``http://127.0.0.1:PORT/auth/v1.0``
    ``user`` / ``key``
        an admin user of account ``AUTH_test`` (``test:tester`` / ``testing``);
        other users are listed in :data:`TEMPAUTH_USERS`
    ``storage_url``
        ``http://127.0.0.1:PORT/v1/AUTH_test``
    ``proxy_url``
        ``http://127.0.0.1:PORT``
    ``pids``
        the PIDs of the server processes this object started
    ``folder``
        the temporary folder holding configuration, rings, data and logs
    """

    _prefix = "velocity-swift-"
    user = "test:tester"
    key = "testing"
    account = "AUTH_test"

    def __init__(
        self,
        keystone: LocalKeystone | None = None,
        startup_timeout: float = 60.0,
        base_dir: str | None = None,
        proxy_port: int | None = None,
    ) -> None:
        super().__init__(startup_timeout, base_dir)
        if proxy_port is not None and not (isinstance(proxy_port, int) and
                                           0 < proxy_port < 65536):
            raise ServerError("proxy_port must be a port number 1-65535, got %r"
                              % (proxy_port,))
        self.keystone = keystone
        #: the proxy's port, or ``None`` for a free one
        self.proxy_port = proxy_port
        self.ports: dict[str, int] = {}

    # -- public API ---------------------------------------------------------

    @property
    def proxy_url(self) -> str:
        return "http://127.0.0.1:%d" % self.ports["proxy"]

    @property
    def auth_url(self) -> str:
        return self.proxy_url + "/auth/v1.0"

    @property
    def storage_url(self) -> str:
        return "%s/v1/%s" % (self.proxy_url, self.account)

    @property
    def keystone_proxy_url(self) -> str:
        """The proxy that accepts Keystone tokens (only with ``keystone=``)."""
        if "keystone-proxy" not in self.ports:
            raise ServerError("this LocalSwift was started without keystone=")
        return "http://127.0.0.1:%d" % self.ports["keystone-proxy"]

    def __repr__(self) -> str:
        state = self.auth_url if self.running else "stopped"
        return "<LocalSwift %s>" % state

    def info(self) -> dict[str, Any]:
        """The cluster's ``/info`` document (capabilities)."""
        with urllib.request.urlopen(self.proxy_url + "/info", timeout=10) as response:
            return json.loads(response.read())

    def run_updater(self) -> None:
        """Run one container-updater sweep, so account totals (bytes, object
        count) reflect the latest writes; Swift otherwise updates them lazily."""
        subprocess.run(
            self._launch("container-updater", "container-server.conf", "once"),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=120,
        )

    def log(self, server: str = "proxy") -> str:
        """The log text of one server (``proxy``, ``account``, ...)."""
        return _tail(self._procs.logs.get(server, ""), lines=10**9)

    # -- internals ----------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return os.path.join(self.folder, *parts)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SWIFT_DIR"] = self._path("conf")
        env.setdefault("PYTHONWARNINGS", "ignore")
        return env

    def _launch(self, server: str, conf: str, *extra: str) -> list[str]:
        return [sys.executable, _LAUNCHER, server, self._path("conf", conf), *extra]

    def _start(self) -> None:
        for sub in ("conf", "devices/d1", "logs", "run"):
            os.makedirs(self._path(sub), exist_ok=True)
        names = ["proxy", "account", "container", "object"]
        if self.keystone is not None:
            names.append("keystone-proxy")
        self.ports = {name: _free_port() for name in names}
        if self.proxy_port is not None:
            with socket.socket() as probe:  # say so now, not in a proxy log
                try:
                    probe.bind(("127.0.0.1", self.proxy_port))
                except OSError as exc:
                    raise ServerError("port %d of 127.0.0.1 is not free: %s"
                                      % (self.proxy_port, exc.strerror)) from None
            self.ports["proxy"] = self.proxy_port
        self._write_config()
        rings = subprocess.run(
            [sys.executable, _LAUNCHER, "rings", str(self.ports["account"]),
             str(self.ports["container"]), str(self.ports["object"])],
            env=self._env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        if rings.returncode:
            raise ServerError("building the rings failed (is velocity-swift[server] installed?):\n"
                              + rings.stderr.decode(errors="replace")[-2000:])
        env = self._env()
        for server in ("account", "container", "object", "proxy"):
            self._procs.start(server, self._launch(server, server + "-server.conf", "-v"),
                              self._path("logs", server + ".log"), env)
        if self.keystone is not None:
            self._procs.start("keystone-proxy",
                              self._launch("proxy", "proxy-keystone.conf", "-v"),
                              self._path("logs", "keystone-proxy.log"), env)
        self._procs.start("object-expirer",
                          self._launch("object-expirer", "object-server.conf", "-v"),
                          self._path("logs", "object-expirer.log"), env)
        _wait_healthy(
            ["http://127.0.0.1:%d/healthcheck" % port for port in self.ports.values()],
            self._procs, self.startup_timeout,
        )

    def _write_config(self) -> None:
        conf = self._path("conf")
        user = getpass.getuser()
        common = {
            "bind_ip": "127.0.0.1",
            "workers": 1,
            "user": user,
            "swift_dir": conf,
            "devices": self._path("devices"),
            "mount_check": "false",
            "recon_cache_path": self._path("run"),
            "log_level": "INFO",
        }
        files: dict[str, dict[str, dict[str, Any]]] = {
            "swift.conf": {
                "swift-hash": {"swift_hash_path_prefix": "velocity",
                               "swift_hash_path_suffix": os.urandom(8).hex()},
                "storage-policy:0": {"name": "gold", "default": "yes"},
                "swift-constraints": {"max_file_size": 5368709122,
                                      "container_listing_limit": 10000},
            },
        }
        for server in ("account", "container", "object"):
            files[server + "-server.conf"] = {
                "DEFAULT": dict(common, bind_port=self.ports[server]),
                "pipeline:main": {"pipeline": "healthcheck %s-server" % server},
                "app:%s-server" % server: {"use": "egg:swift#" + server},
                "filter:healthcheck": {"use": "egg:swift#healthcheck"},
            }
        # account totals are pushed by this updater; run on demand (run_updater)
        files["container-server.conf"]["container-updater"] = {
            "interval": 3600, "concurrency": 1}
        files["object-server.conf"]["object-expirer"] = {
            "interval": 2,
            "dequeue_from_legacy": "true",
            "internal_client_conf_path": os.path.join(conf, "internal-client.conf"),
        }
        files["internal-client.conf"] = {
            "DEFAULT": {"swift_dir": conf, "user": user},
            "pipeline:main": {"pipeline": "catch_errors proxy-logging symlink proxy-server"},
            "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": "true"},
            "filter:symlink": {"use": "egg:swift#symlink"},
            "filter:proxy-logging": {"use": "egg:swift#proxy_logging"},
            "filter:catch_errors": {"use": "egg:swift#catch_errors"},
        }
        proxy = self._proxy_config(user, conf)
        files["proxy-server.conf"] = proxy
        if self.keystone is not None:
            files["proxy-keystone.conf"] = self.keystone.proxy_config(
                proxy, self.ports["keystone-proxy"])
        for name, sections in files.items():
            with open(os.path.join(conf, name), "w", encoding="utf-8") as handle:
                handle.write(_ini(sections))

    def _proxy_config(self, user: str, conf: str) -> dict[str, dict[str, Any]]:
        from cryptography.fernet import Fernet  # a dependency of swift itself

        tempauth: dict[str, Any] = {"use": "egg:swift#tempauth", "token_life": 86400}
        for name, (key, admin) in TEMPAUTH_USERS.items():
            account, username = name.split(":")
            tempauth["user_%s_%s" % (account, username)] = key + (" .admin" if admin else "")
        tempauth["user_admin_admin"] = "admin .admin .reseller_admin"
        # fernet tokens: tempauth needs no token store
        tempauth["fernet_key_velocity"] = Fernet.generate_key().decode()
        tempauth["active_fernet_key_id"] = "velocity"
        sections: dict[str, dict[str, Any]] = {
            "DEFAULT": {"bind_ip": "127.0.0.1", "bind_port": self.ports["proxy"],
                        "workers": 1, "user": user, "swift_dir": conf,
                        "log_level": "INFO"},
            "pipeline:main": {"pipeline": _PROXY_PIPELINE.format(auth="tempauth")},
            "app:proxy-server": {"use": "egg:swift#proxy",
                                 "allow_account_management": "true",
                                 "account_autocreate": "true"},
            "filter:tempauth": tempauth,
            # the cache lives in the (single) proxy worker: see velocity_cache.py
            "filter:cache": {"paste.filter_factory": "velocity_cache:filter_factory"},
            "filter:versioned_writes": {"use": "egg:swift#versioned_writes",
                                        "allow_versioned_writes": "true",
                                        "allow_object_versioning": "true"},
        }
        for name in ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging",
                     "listing_formats", "bulk", "tempurl", "formpost", "copy",
                     "container-quotas", "account-quotas", "slo", "dlo", "symlink"):
            sections["filter:" + name] = {"use": "egg:swift#" + name.replace("-", "_")}
        return sections


class LocalKeystone(_LocalServer):
    """A real Keystone identity service (v3, sqlite, fernet tokens) on 127.0.0.1.

    Needs the ``keystone``, ``keystonemiddleware`` and ``gunicorn`` packages
    (extra ``velocity-swift[keystone]``).  Bootstrap creates, in domain ``Default``:

    * project ``test`` with user ``tester`` / ``testing`` (role member),
    * project ``test2`` with user ``tester2`` / ``testing2`` (role member),
    * the service user ``swift`` the Keystone-side proxy validates tokens with,
    * an ``object-store`` service in region ``RegionOne`` whose public and
      internal endpoints point at the :class:`LocalSwift` started with it.

    Use it with a LocalSwift::

        with LocalKeystone() as ks, LocalSwift(keystone=ks) as swift:
            ks.register_swift(swift)
            ...  # authenticate at ks.auth_url (v3)
    """

    _prefix = "velocity-keystone-"
    users = {"tester": ("testing", "test"), "tester2": ("testing2", "test2")}
    region = "RegionOne"

    def __init__(self, startup_timeout: float = 120.0, base_dir: str | None = None) -> None:
        super().__init__(startup_timeout, base_dir)
        self.port = 0
        self.project_ids: dict[str, str] = {}

    @property
    def auth_url(self) -> str:
        """The identity v3 URL, ``http://127.0.0.1:PORT/v3``."""
        return "http://127.0.0.1:%d/v3" % self.port

    def __repr__(self) -> str:
        return "<LocalKeystone %s>" % (self.auth_url if self._procs.procs else "stopped")

    def _bin(self, name: str) -> str:
        path = os.path.join(os.path.dirname(sys.executable), name)
        if not os.path.exists(path):
            raise ServerError("%s not found beside %s: pip install 'velocity-swift[keystone]'"
                              % (name, sys.executable))
        return path

    def _start(self) -> None:
        self.port = _free_port()
        conf = os.path.join(self.folder, "keystone.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(_ini({
                "DEFAULT": {"use_stderr": "true", "debug": "false"},
                # bcrypt's default cost makes each password check ~0.3 s
                "identity": {"password_hash_rounds": 4},
                "database": {"connection": "sqlite:///" + os.path.join(self.folder, "ks.db")},
                "token": {"provider": "fernet", "expiration": 86400},
                "fernet_tokens": {"key_repository": os.path.join(self.folder, "fernet")},
                "fernet_receipts": {"key_repository": os.path.join(self.folder, "fernet")},
                "credential": {"key_repository": os.path.join(self.folder, "credential")},
                "cache": {"enabled": "false"},
                "oslo_policy": {"enforce_new_defaults": "true", "enforce_scope": "true"},
            }))
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=conf, PYTHONWARNINGS="ignore")
        manage = [self._bin("keystone-manage"), "--config-file", conf]
        user, group = getpass.getuser(), _group_name()
        log = os.path.join(self.folder, "keystone.log")
        for step in (["db_sync"],
                     ["fernet_setup", "--keystone-user", user, "--keystone-group", group],
                     ["credential_setup", "--keystone-user", user, "--keystone-group", group],
                     ["bootstrap", "--bootstrap-password", "adminpass",
                      "--bootstrap-public-url", self.auth_url + "/",
                      "--bootstrap-internal-url", self.auth_url + "/",
                      "--bootstrap-region-id", self.region]):
            with open(log, "ab") as out:
                done = subprocess.run(manage + step, env=env, stdout=out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if done.returncode:
                raise ServerError("keystone-manage %s failed:\n%s" % (step[0], _tail(log)))
        # gunicorn's argv must not reach oslo.config: the app module resets it
        app_dir = os.path.join(_HERE, "_swiftd")
        self._procs.start(
            "keystone",
            [self._bin("gunicorn"), "--chdir", app_dir, "--bind", "127.0.0.1:%d" % self.port,
             "--workers", "2", "--no-control-socket", "keystone_app:application"],
            log, env,
        )
        _wait_healthy([self.auth_url], self._procs, self.startup_timeout)
        self._seed()

    def _admin_session(self) -> Any:
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        return session.Session(auth=v3.Password(
            auth_url=self.auth_url, username="admin", password="adminpass",
            user_domain_id="default", system_scope="all"))

    def _seed(self) -> None:
        from keystoneclient.v3 import client

        admin = client.Client(session=self._admin_session())
        roles = {role.name: role for role in admin.roles.list()}
        service_project = admin.projects.create(name="service", domain="default")
        swift_user = admin.users.create(name="swift", domain="default", password="swiftpass",
                                        default_project=service_project)
        admin.roles.grant(roles["service"], user=swift_user, project=service_project)
        admin.roles.grant(roles["admin"], user=swift_user, project=service_project)
        for name, (password, project_name) in self.users.items():
            project = admin.projects.create(name=project_name, domain="default")
            user = admin.users.create(name=name, domain="default", password=password,
                                      default_project=project)
            admin.roles.grant(roles["member"], user=user, project=project)
            self.project_ids[project_name] = project.id
        self._admin = admin

    def register_swift(self, swift: LocalSwift) -> None:
        """Point the catalog's object-store endpoints at ``swift``'s Keystone proxy."""
        admin = self._admin
        service = admin.services.create(name="swift", type="object-store")
        url = swift.keystone_proxy_url + "/v1/AUTH_%(project_id)s"
        for interface in ("public", "internal"):
            admin.endpoints.create(service=service, url=url, interface=interface,
                                   region=self.region)

    def create_application_credential(self, user: str = "tester") -> tuple[str, str]:
        """Create an application credential for ``user``; returns ``(id, secret)``."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        from keystoneclient.v3 import client

        password, project = self.users[user]
        sess = session.Session(auth=v3.Password(
            auth_url=self.auth_url, username=user, password=password,
            user_domain_id="default", project_name=project, project_domain_id="default"))
        ks = client.Client(session=sess)
        user_id = sess.get_user_id()
        cred = ks.application_credentials.create(name="velocity-%s" % os.urandom(4).hex(),
                                                 user=user_id)
        return cred.id, cred.secret

    def proxy_config(self, base: Mapping[str, Mapping[str, Any]], port: int
                     ) -> dict[str, dict[str, Any]]:
        """A copy of a LocalSwift proxy config that authenticates through Keystone."""
        sections = {name: dict(options) for name, options in base.items()}
        sections["DEFAULT"]["bind_port"] = port
        sections["pipeline:main"]["pipeline"] = _PROXY_PIPELINE.format(
            auth="authtoken keystoneauth")
        del sections["filter:tempauth"]
        root = "http://127.0.0.1:%d" % self.port
        sections["filter:authtoken"] = {
            "paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
            "www_authenticate_uri": root, "auth_url": root, "auth_type": "password",
            "project_domain_id": "default", "user_domain_id": "default",
            "project_name": "service", "username": "swift", "password": "swiftpass",
            "delay_auth_decision": "True", "service_token_roles_required": "True",
        }
        sections["filter:keystoneauth"] = {
            "use": "egg:swift#keystoneauth", "operator_roles": "admin, member",
            "reseller_admin_role": "ResellerAdmin"}
        return sections


def _group_name() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


# -- pytest plugin ------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def swift_server() -> Iterator[LocalSwift]:
        """A running :class:`LocalSwift`, shared by the whole test session."""
        with LocalSwift() as server:
            yield server
