"""Migrate, then exercise the default storage (SwiftStorage) through a model's FileField
and the Storage API, and print what happened as JSON for the test to check.

``--keep NAME`` leaves one small file saved under NAME and reports its URL
(a temp URL, given the settings), fetched anonymously at once (and without
its signature), for the test to fetch again once it has expired.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.core.management.base import BaseCommand

from gallery.models import Photo


class Command(BaseCommand):
    help = "Save, read, list and delete files of the default storage; print JSON."

    def add_arguments(self, parser):
        parser.add_argument("--keep", default=None)
        parser.add_argument("--big", type=int, default=3 * 1024 * 1024 + 17)

    def handle(self, *args, keep=None, big=0, **options):
        call_command("migrate", verbosity=0)
        storage = storages["default"]
        report: dict = {"backend": type(storage).__name__,
                        "default_is_it": default_storage.exists is not None}
        report["static_backend"] = type(storages["staticfiles"]).__name__

        photo = Photo(title="cat")
        photo.image.save("cat.txt", ContentFile(b"a small cat\n" * 100), save=True)
        again = Photo(title="cat again")
        again.image.save("cat.txt", ContentFile(b"another cat\n"), save=True)
        report["names"] = [photo.image.name, again.image.name]

        loaded = Photo.objects.get(pk=photo.pk)
        with loaded.image.open("rb") as handle:
            report["read"] = handle.read().decode()
        report["size"] = loaded.image.size
        report["exists"] = storage.exists(photo.image.name)
        report["listdir"] = storage.listdir("photos")
        report["root"] = storage.listdir("")
        report["modified"] = storage.get_modified_time(photo.image.name).isoformat()
        report["created"] = storage.get_created_time(photo.image.name).isoformat()
        report["accessed"] = storage.get_accessed_time(photo.image.name).isoformat()

        data = bytes(range(256)) * (big // 256) + b"x" * (big % 256)
        large = Photo(title="large")
        large.image.save("large.bin", ContentFile(data), save=True)
        with storage.open(large.image.name) as handle:
            handle.seek(len(data) // 2)
            middle = handle.read(1000)
            handle.seek(0)
            digest = hashlib.md5()
            for chunk in handle.chunks(256 * 1024):
                digest.update(chunk)
        report["large"] = {"name": large.image.name, "size": storage.size(large.image.name),
                           "middle_ok": middle == data[len(data) // 2:len(data) // 2 + 1000],
                           "md5_ok": digest.hexdigest() == hashlib.md5(data).hexdigest()}

        for item in (photo, again, large):
            item.image.delete(save=False)
            item.delete()
        report["after_delete"] = {"exists": storage.exists(photo.image.name),
                                  "listdir": storage.listdir("photos")}
        if keep:
            name = storage.save(keep, ContentFile(b"temporary hello\n"))
            url = storage.url(name)
            # fetched at once, anonymously: the URL lasts a second or two
            with urllib.request.urlopen(url, timeout=10) as answer:
                fetched = answer.read().decode()
            try:
                urllib.request.urlopen(url.partition("?")[0], timeout=10)
                unsigned = 200
            except urllib.error.HTTPError as error:
                unsigned = error.code
            report["kept"] = {"name": name, "url": url, "fetched": fetched,
                              "unsigned_status": unsigned}
        report["deconstruct"] = repr(storage.deconstruct())
        self.stdout.write(json.dumps(report))
