"""Forked workers (Celery prefork, gunicorn): a Velocity or Connection made and
used before ``os.fork()`` keeps working in the child, against the real LocalSwift."""

from __future__ import annotations

import asyncio
import os
import signal
import traceback

import pytest

from velocity.aio import Velocity

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def run_in_child(work) -> tuple[int, str]:
    """Fork; run ``work()`` in the child; return the child's exit status and
    what it wrote on failure."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            work()
            status = 0
        except BaseException:  # noqa: BLE001 - report anything to the parent
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), report


def test_velocity_made_before_fork_works_in_the_child(swift_server, raw_conn,
                                                      container_name, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for i in range(5):
        (source / ("f%d.txt" % i)).write_bytes(b"parent %d" % i)
    v = Velocity(None, swift_server.user, swift_server.key, auth_url=swift_server.auth_url,
                 identity="v1", max_workers=2)
    v.authenticate()
    v.create_container(container_name)
    # used before the fork: the pool has live threads, the client open sockets
    results = asyncio.run(v.process(container_name, "UPLOAD", str(source)))
    assert all(r.ok for r in results)

    child_dir = tmp_path / "child"
    child_dir.mkdir()
    (child_dir / "from-child.txt").write_bytes(b"child")

    def child():
        async def main():
            up = await v.process(container_name, "UPLOAD", str(child_dir))
            head = await v.process(container_name, "HEAD", str(source))
            await v.close_session()
            return up + head

        done = asyncio.run(main())
        assert [r.ok for r in done] == [True] * 6, [str(r) for r in done]
        assert v.errors == []

    status, report = run_in_child(child)
    assert status == 0, report
    assert raw_conn.get_object(container_name, "from-child.txt")[1] == b"child"

    # and the parent's Velocity is unharmed
    async def again():
        found = await v.process(container_name, "HEAD", str(child_dir))
        await v.close_session()
        return found

    assert [r.ok for r in asyncio.run(again())] == [True]


def test_connection_made_before_fork_works_in_the_child(swift_server, raw_conn,
                                                        container_name):
    from velocity.connection import Connection

    conn = Connection(swift_server.user, swift_server.key, authurl=swift_server.auth_url)
    container = conn.create_container(container_name)
    container.create_object("before.txt").write(b"before")

    def child():
        child_container = conn.get_container(container_name)
        child_container.create_object("in-child.txt").write(b"in child")
        assert child_container.get_object("before.txt").read() == b"before"
        assert sorted(child_container.list_objects()) == ["before.txt", "in-child.txt"]

    status, report = run_in_child(child)
    assert status == 0, report
    assert raw_conn.get_object(container_name, "in-child.txt")[1] == b"in child"
    assert conn.get_container(container_name).get_object("in-child.txt").read() == (
        b"in child")



def test_transfer_manager_used_before_fork_works_in_the_child(client, raw_conn,
                                                              container_name, tmp_path):
    from velocity.transfer import TransferManager

    (tmp_path / "parent.txt").write_bytes(b"from the parent")
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "child.txt").write_bytes(b"from the child")
    with TransferManager(client) as manager:
        # the parent's worker threads exist now; the child must not wait for them
        assert manager.upload(container_name, str(tmp_path / "parent.txt"))[0].ok

        def child_work() -> None:
            signal.alarm(60)  # a hang in the child ends the child, not the suite
            results = manager.upload(container_name, str(tmp_path / "child"))
            assert [r.ok for r in results] == [True], [str(r) for r in results]
            down = manager.download(container_name, ["parent.txt"],
                                    out_dir=str(tmp_path / "down"))
            assert down[0].ok, str(down[0])

        status, report = run_in_child(child_work)
        assert status == 0, report
        assert raw_conn.get_object(container_name, "child.txt")[1] == b"from the child"
        assert (tmp_path / "down" / "parent.txt").read_bytes() == b"from the parent"
        # and the parent's manager still works
        assert manager.upload(container_name, str(tmp_path / "parent.txt"))[0].ok
