"""Settings of the small Django project Velocity's tests run management commands in.

Velocity is configured from the ``VELOCITY`` setting when it is set, else from
the ``OS_*`` / ``ST_*`` environment variables (an OpenStack RC file)::

    VELOCITY = {
        "AUTH_URL": "https://identity.example.com/v3",
        "USERNAME": "me",
        "KEY": "...",            # API key, password or v1 key
        "IDENTITY": "password",  # rackspace (default), password, v1, application_credential
        "REGION": "RegionOne",
        "INTERNAL": False,
        "OPTIONS": {"project_name": "demo"},
    }
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "velocity-tests-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = ["swiftsync"]
ROOT_URLCONF = "velocity_site.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("VELOCITY_DJANGO_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

# None: configure Velocity from OS_* / ST_* variables
VELOCITY = None
