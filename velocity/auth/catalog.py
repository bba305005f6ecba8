"""Looking endpoints up in a Keystone / Rackspace service catalog, and saying
what the catalog offers when the one asked for is not there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from velocity._log import log
from velocity.auth.plugins import PayloadAuth

if TYPE_CHECKING:
    from velocity.auth.credentials import Credentials


def catalog_url(creds: Credentials, service_type: str, interface: str, region: str | None
                ) -> str | None:
    """The catalog URL of ``service_type`` for this interface and region
    (``None`` when there is none); ``dfw`` finds ``DFW``."""
    access = creds._access()
    if access is None or access.service_catalog is None:
        return None
    catalog = access.service_catalog
    if region is None and isinstance(creds.plugin, PayloadAuth):
        region = creds.plugin.default_region
    candidates = catalog.get_endpoints_data(service_type=service_type,
                                            interface=interface)
    matches = [data for items in candidates.values() for data in items]
    if region is not None:
        exact = [d for d in matches if d.region_name == region]
        # "dfw" finds "DFW"; regionless (global) endpoints serve every region
        matches = exact or [d for d in matches if d.region_name
                            and d.region_name.lower() == region.lower()] or [
            d for d in matches if not d.region_name]
    elif len({d.region_name for d in matches}) > 1:
        log.info("no region chosen: using %s of %s regions %s", matches[0].region_name,
                 service_type, ", ".join(sorted({str(d.region_name) for d in matches})))
    return matches[0].catalog_url if matches else None


def no_endpoint_message(creds: Credentials, service_type: str, interface: str,
                        region: str | None) -> str:
    """Why there is no such endpoint: the services, regions or interfaces
    the catalog offers instead."""
    all_eps = creds.endpoints()
    offered = [ep for ep in all_eps if ep["service_type"] == service_type]
    if not offered:
        services = sorted({str(ep["service_type"]) for ep in all_eps})
        return ("the catalog has no %s service (services: %s); is the token scoped to a "
                "project?" % (service_type, ", ".join(services) or "none"))
    regions = []
    for ep in offered:
        if ep["region"] and ep["region"] not in regions:
            regions.append(ep["region"])
    if region and not any((ep["region"] or "").lower() == region.lower()
                          for ep in offered):
        return "region %r not in catalog; %s regions: %s" % (
            region, service_type, ", ".join(str(r) for r in regions) or "(none named)")
    here = sorted({str(ep["interface"]) for ep in offered
                   if region is None or (ep["region"] or "").lower() == region.lower()})
    return "no %s %s endpoint%s; interfaces offered: %s" % (
        interface, service_type, " in region %r" % region if region else "",
        ", ".join(here))

