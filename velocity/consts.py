"""python-cloudfiles' constants (``cloudfiles.consts``), with Velocity's values.

``import velocity.cloudfiles as cloudfiles`` exposes this module as
``cloudfiles.consts``.  The limits are Swift's defaults; Velocity checks them
in UTF-8 bytes, as Swift does (python-cloudfiles counted characters).
"""

from __future__ import annotations

__all__ = [
    "user_agent", "us_authurl", "uk_authurl", "default_authurl", "default_cdn_ttl",
    "cdn_log_retention", "meta_name_limit", "meta_value_limit", "object_name_limit",
    "container_name_limit", "listing_limit", "RACKSPACE_AUTH_URL", "RACKSPACE_V1_AUTH_URL",
    "CDN_SERVICE_TYPE",
]

#: Rackspace's identity service (v2.0 with the RAX-KSKEY API-key extension)
RACKSPACE_AUTH_URL = "https://identity.api.rackspacecloud.com/v2.0"
#: python-cloudfiles' default (v1.0) authentication URL
RACKSPACE_V1_AUTH_URL = "https://auth.api.rackspacecloud.com/v1.0"
#: catalog service type of the Rackspace Cloud Files CDN management API
CDN_SERVICE_TYPE = "rax:object-cdn"

#: the version of the python-cloudfiles API this module reproduces
cloudfiles_api_version = "1.7.11"
#: ``User-Agent`` sent by :class:`velocity.connection.Connection` unless told otherwise
user_agent = "velocity (python-cloudfiles compatible)"
#: Rackspace Cloud Files v1.0 authentication, United States
us_authurl = RACKSPACE_V1_AUTH_URL
#: Rackspace Cloud Files v1.0 authentication, United Kingdom
uk_authurl = "https://lon.auth.api.rackspacecloud.com/v1.0"
#: ``Connection``'s default ``authurl``
default_authurl = us_authurl
#: seconds a CDN edge caches a public container (``Container.make_public``)
default_cdn_ttl = 86400
#: default CDN log retention
cdn_log_retention = False
#: longest metadata name (after the ``X-Object-Meta-`` prefix), in UTF-8 bytes
meta_name_limit = 128
#: longest metadata value, in UTF-8 bytes
meta_value_limit = 256
#: longest object name, in UTF-8 bytes
object_name_limit = 1024
#: longest container name, in UTF-8 bytes
container_name_limit = 256
#: most entries Swift returns for one listing request
listing_limit = 10000
