"""Pure mapping of what a vCenter says of itself (``AboutInfo``) and of the licenses it holds."""

from __future__ import annotations

from typing import Final

from pyVmomi import vim, vmodl

from iroa.connectors.base import LicenseInfo
from iroa.connectors.vcenter.mapping import as_int, as_str, as_utc

_LicenseInfo = vim.LicenseManager.LicenseInfo
_KeyValue = vim.KeyValue
_KeyAnyValue = vmodl.KeyAnyValue

ABOUT_FIELDS: Final = {
    "name": "name",
    "os_type": "osType",
    "api_type": "apiType",
    "api_version": "apiVersion",
    "patch_level": "patchLevel",
    "full_name": "fullName",
    "product_name": "licenseProductName",
    "product_version": "licenseProductVersion",
    "product_line": "productLineId",
    "vendor": "vendor",
    "instance_uuid": "instanceUuid",
}
"""What :func:`about_of` keeps of an ``AboutInfo``, by IROA's name."""

LICENSE_PATHS: Final = ("licenses",)
"""Read from the LicenseManager (not an entity)."""

KEY_SHOWN: Final = 5
"""How many of a license key's last characters stay readable."""


def about_of(about: object) -> dict[str, str | None]:
    """The fields of :data:`ABOUT_FIELDS` of a vCenter's (or host's) ``AboutInfo``."""
    return {name: as_str(getattr(about, field, None)) for name, field in ABOUT_FIELDS.items()}


def mask_key(key: str) -> str:
    """A license key with every letter and digit but the last :data:`KEY_SHOWN` replaced by
    ``*`` (dashes kept): enough to tell keys apart, not to use one."""
    shown = len(key) - KEY_SHOWN
    return "".join(c if i >= shown or not c.isalnum() else "*" for i, c in enumerate(key))


def map_licenses(licenses: object) -> tuple[LicenseInfo, ...]:
    """The licenses of a LicenseManager's ``licenses``, their keys masked."""
    found: list[LicenseInfo] = []
    for info in licenses if isinstance(licenses, list) else ():
        if not isinstance(info, _LicenseInfo):
            continue
        expires = None
        features: list[str] = []
        for prop in info.properties or ():
            if not isinstance(prop, _KeyAnyValue):
                continue
            if prop.key == "expirationDate":
                expires = as_utc(prop.value)
            elif prop.key == "feature" and isinstance(prop.value, _KeyValue):
                features.append(as_str(prop.value.value) or as_str(prop.value.key) or "")
        labels = [
            f"{label.key}={label.value}" if label.value else str(label.key)
            for label in info.labels or ()
            if isinstance(label, _KeyValue) and label.key
        ]
        key = as_str(info.licenseKey) or ""
        found.append(
            LicenseInfo(
                name=as_str(info.name) or as_str(info.editionKey) or "",
                key=mask_key(key),
                total=as_int(info.total),
                used=as_int(info.used),
                cost_unit=as_str(info.costUnit),
                expires_at=expires,
                labels=tuple(labels),
                features=tuple(f for f in features if f),
            )
        )
    return tuple(found)
