"""InstallCertificate, DeleteCertificate and GetInstalledCertificateIds as commands of both versions, checked by
each version's schema, and what their answers make of a charger's certificate inventory."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from django.utils import timezone

from certificates import services
from certificates.models import InstalledCertificate
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command

from .helpers import answer, call, csr_pem, root_pem, send

pytestmark = pytest.mark.django_db

#: The root type an operator installs, per version.
ROOT_TYPE = {"1.6": "CentralSystemRootCertificate", "2.0.1": "CSMSRootCertificate"}


@pytest.fixture(params=["1.6", "2.0.1"])
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version=request.param, registration_status="Accepted", online=True
    )


def run(charger: ChargePoint, action: str, payload: dict[str, Any], result: dict[str, Any]) -> Command:
    command = command_enqueue(charge_point=charger, action=action, payload=payload)
    assert send(charger).pk == command.pk
    return answer(command, result)


def hash_data(pem: str, algorithm: str = "SHA256") -> dict[str, str]:
    return services.certificate_hash_data(certificate_pem=pem, hash_algorithm=algorithm).to_ocpp()


def inventory(charger: ChargePoint) -> list[tuple[str, str, str | None]]:
    return [
        (row.certificate_type, row.serial_number, row.parent.serial_number if row.parent else None)
        for row in InstalledCertificate.objects.filter(charge_point=charger).order_by("id")
    ]


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA384", "SHA512"])
def test_hash_data_is_what_an_ocsp_request_names_the_certificate_by(algorithm: str) -> None:
    pem = root_pem()
    certificate = x509.load_pem_x509_certificate(pem.encode())
    digest = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}[algorithm]
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, certificate, digest).build()
    assert services.certificate_hash_data(certificate_pem=pem, hash_algorithm=algorithm).to_ocpp() == {
        "hashAlgorithm": algorithm,
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(request.serial_number, "x"),
    }


def test_hash_data_of_a_certificate_we_issued_names_the_csms_ca_as_its_issuer() -> None:
    ca = x509.load_pem_x509_certificate(services.ca_certificate_pem().encode())
    ca_pem = services.ca_certificate_pem()
    data = services.certificate_hash_data(certificate_pem=ca_pem, issuer_pem=ca_pem)
    request = ocsp.OCSPRequestBuilder().add_certificate(ca, ca, hashes.SHA256()).build()
    assert (data.issuer_name_hash, data.issuer_key_hash) == (
        request.issuer_name_hash.hex(),
        request.issuer_key_hash.hex(),
    )


def test_TC_M_01_CSMS_install_csms_root_certificate_accepted_enters_the_inventory(charger: ChargePoint) -> None:
    pem = root_pem()
    command = run(
        charger,
        "InstallCertificate",
        {"certificateType": ROOT_TYPE[charger.ocpp_version], "certificate": pem},
        {"status": "Accepted"},
    )
    assert command.status == "accepted"
    row = InstalledCertificate.objects.get(charge_point=charger)
    assert row.certificate_type == ROOT_TYPE[charger.ocpp_version]
    assert {
        "hashAlgorithm": row.hash_algorithm,
        "issuerNameHash": row.issuer_name_hash,
        "issuerKeyHash": row.issuer_key_hash,
        "serialNumber": row.serial_number,
    } == hash_data(pem)


@pytest.mark.parametrize("status", ["Rejected", "Failed"])
def test_TC_M_05_CSMS_install_certificate_rejected_or_failed_changes_no_inventory(
    charger: ChargePoint, status: str
) -> None:
    payload = {"certificateType": ROOT_TYPE[charger.ocpp_version], "certificate": root_pem()}
    assert run(charger, "InstallCertificate", payload, {"status": status}).status == "rejected"
    assert not InstalledCertificate.objects.exists()


def test_TC_M_18_CSMS_TC_M_19_CSMS_get_installed_certificate_ids_2_0_1_replaces_the_inventory_of_the_types_asked() -> (
    None
):
    station = ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )
    first, second, child = root_pem("A"), root_pem("B"), root_pem("C")
    services.installed_certificate_add(
        charge_point=station,
        certificate_type="CSMSRootCertificate",
        certificate_pem=root_pem("Gone"),
        now=timezone.now(),
    )
    services.installed_certificate_add(
        charge_point=station, certificate_type="ManufacturerRootCertificate", certificate_pem=second, now=timezone.now()
    )
    result = {
        "status": "Accepted",
        "certificateHashDataChain": [
            {"certificateType": "CSMSRootCertificate", "certificateHashData": hash_data(first, "SHA384")},
            {
                "certificateType": "V2GCertificateChain",
                "certificateHashData": hash_data(second, "SHA512"),
                "childCertificateHashData": [hash_data(child)],
            },
        ],
    }
    asked = {"certificateType": ["CSMSRootCertificate", "V2GCertificateChain"]}
    assert run(station, "GetInstalledCertificateIds", asked, result).status == "accepted"
    manufacturer = hash_data(second)["serialNumber"]
    assert inventory(station) == [
        ("ManufacturerRootCertificate", manufacturer, None),  # not asked: kept
        ("CSMSRootCertificate", hash_data(first)["serialNumber"], None),
        ("V2GCertificateChain", manufacturer, None),
        ("V2GCertificateChain", hash_data(child)["serialNumber"], manufacturer),
    ]
    row = InstalledCertificate.objects.get(certificate_type="CSMSRootCertificate")
    assert (row.hash_algorithm, len(row.issuer_name_hash)) == ("SHA384", 96)
    # No type asked: every type is replaced; NotFound: the station has none.
    assert run(station, "GetInstalledCertificateIds", {}, {"status": "NotFound"}).status == "rejected"
    assert inventory(station) == []


def test_get_installed_certificate_ids_1_6_one_type_at_a_time() -> None:
    charger = ChargePoint.objects.create(
        charge_point_id="CP-1", ocpp_version="1.6", registration_status="Accepted", online=True
    )
    services.installed_certificate_add(
        charge_point=charger,
        certificate_type="ManufacturerRootCertificate",
        certificate_pem=root_pem(),
        now=timezone.now(),
    )
    pem = root_pem("Central")
    asked = {"certificateType": "CentralSystemRootCertificate"}
    run(charger, "GetInstalledCertificateIds", asked, {"status": "Accepted", "certificateHashData": [hash_data(pem)]})
    assert [row[0] for row in inventory(charger)] == ["ManufacturerRootCertificate", "CentralSystemRootCertificate"]
    run(charger, "GetInstalledCertificateIds", asked, {"status": "NotFound"})
    assert [row[0] for row in inventory(charger)] == ["ManufacturerRootCertificate"]


def test_TC_M_20_CSMS_TC_M_21_CSMS_delete_certificate_accepted_leaves_the_inventory(charger: ChargePoint) -> None:
    pem, kept = root_pem("Delete me"), root_pem("Keep me")
    for certificate in (pem, kept):
        services.installed_certificate_add(
            charge_point=charger,
            certificate_type=ROOT_TYPE[charger.ocpp_version],
            certificate_pem=certificate,
            now=timezone.now(),
        )
    # The charger's own spelling of the hashes (upper case) names the same certificate.
    named = {key: value.upper() if key != "hashAlgorithm" else value for key, value in hash_data(pem).items()}
    for status in ("NotFound", "Failed"):
        assert (
            run(charger, "DeleteCertificate", {"certificateHashData": named}, {"status": status}).status == "rejected"
        )
        assert len(inventory(charger)) == 2
    assert (
        run(charger, "DeleteCertificate", {"certificateHashData": named}, {"status": "Accepted"}).status == "accepted"
    )
    assert [row[1] for row in inventory(charger)] == [hash_data(kept)["serialNumber"]]


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("InstallCertificate", {"certificateType": "EVRootCertificate", "certificate": "x"}, "certificateType"),
        ("InstallCertificate", {"certificateType": "CSMSRootCertificate"}, "certificate"),
        (
            "DeleteCertificate",
            {
                "certificateHashData": {
                    "hashAlgorithm": "MD5",
                    "issuerNameHash": "a",
                    "issuerKeyHash": "b",
                    "serialNumber": "c",
                }
            },
            "certificateHashData.hashAlgorithm",
        ),
        ("GetInstalledCertificateIds", {"certificateType": "NoSuchType"}, "certificateType"),
    ],
)
def test_certificate_commands_are_checked_by_the_chargers_version_schema(
    charger: ChargePoint, action: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(CommandError) as refused:
        command_enqueue(charge_point=charger, action=action, payload=payload)
    assert field in refused.value.errors or any(field in key for key in refused.value.errors)
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        ("-----BEGIN CERTIFICATE-----", "not PEM-armored"),
        ("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----", "does not parse"),
        (root_pem("Old", days=-1), "expired"),
        (root_pem("Leaf", ca=False), "not a CA certificate"),
        (root_pem("A") + root_pem("B"), "at most 1"),
    ],
)
def test_install_certificate_refuses_what_is_no_valid_root(charger: ChargePoint, pem: str, reason: str) -> None:
    payload = {"certificateType": ROOT_TYPE[charger.ocpp_version], "certificate": pem}
    with pytest.raises(CommandError) as refused:
        command_enqueue(charge_point=charger, action="InstallCertificate", payload=payload)
    assert reason in refused.value.errors["certificate"][0]
    assert not Command.objects.exists()


def test_an_operators_certificate_signed_must_chain(charger: ChargePoint) -> None:
    call("SignCertificate", {"csr": csr_pem("CP-1")}, cid="CP-1", version=charger.ocpp_version)
    ours = Command.objects.get(action="CertificateSigned").request["certificateChain"]
    leaf = ours.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    with pytest.raises(CommandError) as refused:
        command_enqueue(
            charge_point=charger, action="CertificateSigned", payload={"certificateChain": leaf + root_pem()}
        )
    assert "is not issued by" in refused.value.errors["certificateChain"][0]
    assert command_enqueue(charge_point=charger, action="CertificateSigned", payload={"certificateChain": ours})
