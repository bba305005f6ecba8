"""``manage.py velocity_upload CONTAINER FOLDER``: upload a folder through
Velocity, record every object with the ORM, then list the container.

``--engine sync`` (default) uses the :class:`velocity.TransferManager`: its
progress callbacks run on this command's thread, so they may use the ORM
directly.  ``--engine async`` uses :class:`velocity.Velocity` under
``asyncio.run``: callbacks arrive on the loop's thread (this thread too), but
Django refuses ORM calls while an event loop runs there, so the records are
written after the loop has finished.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from swiftsync.models import UploadRecord
from velocity import errors
from velocity.auth import Credentials
from velocity.progress import ProgressSubscriber


def velocity_credentials() -> Credentials:
    """From ``settings.VELOCITY`` when set, else from ``OS_*`` / ``ST_*``."""
    config = getattr(settings, "VELOCITY", None)
    if not config:
        return Credentials.from_env()
    from velocity.aio import make_credentials

    return make_credentials(
        config.get("USERNAME"), config.get("KEY"), config.get("REGION"),
        auth_url=config["AUTH_URL"], internal=config.get("INTERNAL", False),
        identity=config.get("IDENTITY", "rackspace"), **config.get("OPTIONS", {}))


class ThreadCheckingRecorder(ProgressSubscriber):
    """Counts callbacks, notes any that arrive on another thread than the
    command's, and (when ``save`` is true) records each object with the ORM."""

    def __init__(self, container: str, save: bool) -> None:
        self.container = container
        self.save = save
        self.thread = threading.get_ident()
        self.callbacks = 0
        self.foreign_threads: set[int] = set()
        self.results: list[tuple[Any, int]] = []

    def _seen(self) -> int:
        ident = threading.get_ident()
        self.callbacks += 1
        if ident != self.thread:
            self.foreign_threads.add(ident)
        return ident

    def on_start(self, total_bytes, total_objects) -> None:
        self._seen()

    def on_progress(self, bytes_done_delta) -> None:
        self._seen()

    def on_object_done(self, result) -> None:
        ident = self._seen()
        self.results.append((result, ident))
        if self.save:
            record(self.container, result, ident)

    def on_done(self) -> None:
        self._seen()


def record(container: str, result: Any, thread_id: int) -> None:
    UploadRecord.objects.create(container=container, name=result.name,
                                size=result.bytes or 0, ok=result.ok, thread_id=thread_id)


class Command(BaseCommand):
    help = "Upload FOLDER into CONTAINER through Velocity and list the container."

    def add_arguments(self, parser) -> None:
        parser.add_argument("container")
        parser.add_argument("folder")
        parser.add_argument("--engine", choices=["sync", "async"], default="sync",
                            help="TransferManager (sync) or velocity.Velocity (async)")

    def handle(self, *args: Any, container: str, folder: str, engine: str,
               **options: Any) -> None:
        try:
            credentials = velocity_credentials()
        except errors.VelocityError as error:
            raise CommandError("Velocity is not configured: %s" % error) from None
        recorder = ThreadCheckingRecorder(container, save=engine == "sync")
        try:
            if engine == "sync":
                results = self._upload_sync(credentials, container, folder, recorder)
            else:
                results = self._upload_async(credentials, container, folder, recorder)
                for result, ident in recorder.results:  # the loop is over: ORM is fine
                    record(container, result, ident)
            listing = self._list(credentials, container)
        except errors.VelocityError as error:
            raise CommandError(str(error)) from None

        failed = [result for result in results if not result.ok]
        self.stdout.write("uploaded %d objects (%d failed) to %s"
                          % (len(results) - len(failed), len(failed), container))
        for result in failed:
            self.stderr.write(str(result))
        if recorder.foreign_threads:
            raise CommandError("%d progress callbacks arrived on another thread"
                               % recorder.callbacks)
        self.stdout.write("progress callbacks: %d, all on the command's thread"
                          % recorder.callbacks)
        for entry in listing:
            self.stdout.write("%s\t%d" % (entry["name"], entry["bytes"]))
        if failed:
            raise CommandError("%d uploads failed" % len(failed))

    def _upload_sync(self, credentials, container, folder, recorder):
        from velocity.client import SwiftClient
        from velocity.transfer import TransferManager

        with SwiftClient(credentials) as client, TransferManager(client) as manager:
            client.get_auth()  # a refused login is one clear error, not one per file
            return manager.upload(container, [folder], subscribers=[recorder])

    def _upload_async(self, credentials, container, folder, recorder):
        from velocity.aio import Velocity

        async def main():
            async with Velocity(identity=credentials) as velocity:
                await velocity.authenticate_async()
                await velocity.create_container_async(container)
                return await velocity.process(container, "UPLOAD", folder,
                                              subscribers=recorder)

        return asyncio.run(main())

    def _list(self, credentials, container):
        from velocity.connection import Connection

        conn = Connection(credentials=credentials)
        return conn.get_container(container).list_objects_info()
