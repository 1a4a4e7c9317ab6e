"""What a vCenter says of itself and its licenses, mapped: pure, no simulator."""

from __future__ import annotations

from datetime import UTC, datetime

from pyVmomi import vim, vmodl

from iroa.connectors.vcenter.source import about_of, map_licenses, mask_key


def test_a_key_shows_its_last_five_characters_only() -> None:
    assert mask_key("HN0A4-8WJ1P-M8L80-0A1A2-8FGH5") == "*****-*****-*****-*****-8FGH5"
    assert mask_key("ABCDEFGH") == "***DEFGH"
    assert mask_key("") == ""


def test_licenses_keep_their_figures_expiry_labels_and_features() -> None:
    expires = datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    info = vim.LicenseManager.LicenseInfo(
        licenseKey="HN0A4-8WJ1P-M8L80-0A1A2-8FGH5",
        editionKey="esx.enterprisePlus.cpuPackage",
        name="VMware vSphere 8 Enterprise Plus",
        total=16,
        used=12,
        costUnit="cpuPackage",
        properties=[
            vmodl.KeyAnyValue(key="expirationDate", value=expires),
            vmodl.KeyAnyValue(key="feature", value=vim.KeyValue(key="vmotion", value="vMotion")),
            vmodl.KeyAnyValue(key="feature", value=vim.KeyValue(key="dvs", value="vDS")),
            vmodl.KeyAnyValue(key="ProductName", value="VMware ESX Server"),
        ],
        labels=[vim.KeyValue(key="site", value="paris")],
    )

    [license_] = map_licenses([info, "not a license"])

    assert license_.name == "VMware vSphere 8 Enterprise Plus"
    assert license_.key == "*****-*****-*****-*****-8FGH5"
    assert (license_.total, license_.used, license_.cost_unit) == (16, 12, "cpuPackage")
    assert license_.expires_at == expires
    assert license_.features == ("vMotion", "vDS")
    assert license_.labels == ("site=paris",)
    assert "HN0A4" not in repr(license_)


def test_about_keeps_the_vsource_fields() -> None:
    about = vim.AboutInfo(
        name="VMware vCenter Server",
        fullName="VMware vCenter Server 8.0.2 build-22617221",
        vendor="VMware, Inc.",
        version="8.0.2",
        build="22617221",
        osType="linux-x64",
        apiType="VirtualCenter",
        apiVersion="8.0.2.0",
        instanceUuid="8b1c7d2e-0000-4000-8000-000000000001",
        productLineId="vpx",
        licenseProductName="VMware VirtualCenter Server",
        licenseProductVersion="8.0",
    )

    found = about_of(about)

    assert found["api_version"] == "8.0.2.0"
    assert found["instance_uuid"] == "8b1c7d2e-0000-4000-8000-000000000001"
    assert (found["product_line"], found["product_name"]) == ("vpx", "VMware VirtualCenter Server")
    assert found["patch_level"] is None
