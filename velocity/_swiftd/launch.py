"""Run one OpenStack Swift server or daemon from a private configuration folder.

This file is executed by path (``python launch.py ...``) in a child process of
:class:`velocity.server.LocalSwift`; it never imports velocity itself.

Swift reads ``swift.conf`` (storage policies, constraints, hash prefix) from the
fixed path ``/etc/swift/swift.conf`` when its modules are imported.  Before the
real entry point runs, the module-level path is redirected to
``$SWIFT_DIR/swift.conf`` and the cached settings are reloaded, so nothing under
``/etc`` is read or written.

Usage::

    SWIFT_DIR=CONF python launch.py rings ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT
    SWIFT_DIR=CONF python launch.py proxy|account|container|object CONF_FILE
    SWIFT_DIR=CONF python launch.py container-updater|object-expirer CONF_FILE [once]
"""
import importlib
import os
import sys

ENTRY_POINTS = {
    "proxy": "swift.proxy.server",
    "account": "swift.account.server",
    "container": "swift.container.server",
    "object": "swift.obj.server",
    "container-updater": "swift.container.updater",
    "object-expirer": "swift.obj.expirer",
}


def _use_private_swift_conf(conf_dir):
    from swift.common import utils

    utils.SWIFT_CONF_FILE = os.path.join(conf_dir, "swift.conf")
    utils.HASH_PATH_PREFIX = utils.HASH_PATH_SUFFIX = b""
    utils.validate_configuration()
    from swift.common import constraints, storage_policy

    constraints.reload_constraints()
    storage_policy.reload_storage_policies()


def _build_rings(conf_dir, ports):
    """One replica, one device ("d1") per ring, part power 8."""
    from swift.common.ring import RingBuilder

    for kind, port in zip(("account", "container", "object"), ports):
        builder = RingBuilder(8, 1, 1)
        builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
                         "port": int(port), "device": "d1", "weight": 1.0})
        builder.rebalance(seed=1)
        builder.get_ring().save(os.path.join(conf_dir, "%s.ring.gz" % kind))


def _stop_with_parent():
    """Stop (as on ``SIGTERM``) when the process that started this server
    is gone, even if it was killed with ``SIGKILL`` and could not stop us:
    a test run that dies leaves no server behind."""
    import signal
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def main(argv):
    conf_dir = os.environ["SWIFT_DIR"]
    command = argv[1]
    if command == "rings":
        _build_rings(conf_dir, argv[2:5])
        return 0
    _use_private_swift_conf(conf_dir)
    _stop_with_parent()
    module = importlib.import_module(ENTRY_POINTS[command])
    sys.argv = ["swift-" + command] + argv[2:]
    return module.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
