"""Settings of the Django project that tests ``velocity.contrib.django.SwiftStorage``.

The test passes where Swift is through the environment:

* ``GALLERY_LOGIN=options`` (default): the media storage gets its login in
  ``STORAGES["default"]["OPTIONS"]``, the static storage from the
  ``VELOCITY_AUTH_URL`` / ``VELOCITY_USER`` / ``VELOCITY_KEY`` settings;
  both from ``GALLERY_AUTH_URL``, ``GALLERY_USER``, ``GALLERY_KEY``.
* ``GALLERY_LOGIN=env``: no login in the settings at all: both storages
  log in from the ``OS_*`` variables.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "velocity-storage-tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django.contrib.staticfiles", "gallery"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GALLERY_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
STATIC_URL = "/static/"

LOGIN = os.environ.get("GALLERY_LOGIN", "options")
login = {}
if LOGIN == "options":
    login = {"auth_url": os.environ["GALLERY_AUTH_URL"], "user": os.environ["GALLERY_USER"],
             "key": os.environ["GALLERY_KEY"]}
    VELOCITY_AUTH_URL = login["auth_url"]
    VELOCITY_USER = login["user"]
    VELOCITY_KEY = login["key"]

# options every storage shares unless its OPTIONS say otherwise
VELOCITY_AUTO_CREATE = True
VELOCITY_SEGMENT_THRESHOLD = 2 * 1024 * 1024
VELOCITY_SEGMENT_SIZE = 1024 * 1024

STORAGES = {
    "default": {
        "BACKEND": "velocity.contrib.django.SwiftStorage",
        "OPTIONS": {
            **login,
            "container": os.environ.get("GALLERY_MEDIA", "gallery-media"),
            "temp_url_key": os.environ.get("GALLERY_TEMP_URL_KEY", "not-a-real-key"),
            "temp_url_duration": float(os.environ.get("GALLERY_TEMP_URL_DURATION", "2")),
        },
    },
    "staticfiles": {
        "BACKEND": "velocity.contrib.django.SwiftStorage",
        "OPTIONS": {
            "container": os.environ.get("GALLERY_STATIC", "gallery-static"),
            "prefix": "static/",
            "public": True,
        },
    },
}
