"""gunicorn entry point for Keystone (used by velocity.server.LocalKeystone).

oslo.config would parse gunicorn's own command line and exit, so the argument
list is cut back before Keystone is imported; the configuration file comes from
``OS_KEYSTONE_CONFIG_FILES``.
"""
import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
