"""Security and certificates of a simulated 2.0.1 station (blocks A and M): the certificate store
(InstallCertificate, DeleteCertificate, GetInstalledCertificateIds), the CSR flow (TriggerMessage
SignChargingStationCertificate: a new key pair, SignCertificate, CertificateSigned), and the network
connection profiles (SetNetworkProfile; with OCPPCommCtrlr.NetworkConfigurationPriority and a Reset, the
station connects with the profile of the first slot, security profile 2 and 3 over TLS).

TLS: the station trusts the CSMS root certificates installed on it (CSMSRootCertificate) and, for
profile 3, presents the certificate it got through CertificateSigned. A slot whose profile cannot be
used (no root installed, no certificate, the TLS handshake or the login fails) is skipped after
NetworkProfileConnectionAttempts tries, and the next slot of the priority list is used, as A05 asks.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import ssl
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from gateway.sim_v201_base import StationBase
from gateway.sim_v201_model import NETWORK_SLOTS, StationState

logger = logging.getLogger("gateway.simulator_v201")

CSMS_ROOTS = ("CSMSRootCertificate",)
INSTALLABLE = ("V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate", "ManufacturerRootCertificate")


def reason(code: str, info: str = "") -> dict[str, str]:
    """A StatusInfo (2.0.1's reason for an answer)."""
    return {"reasonCode": code[:20], "additionalInfo": info[:512]} if info else {"reasonCode": code[:20]}


@dataclasses.dataclass(frozen=True)
class Connection:
    """How the station connects: the URL, security profile, TLS context and Basic auth header."""

    slot: int
    url: str
    security_profile: int
    ssl: ssl.SSLContext | None
    headers: dict[str, str]


def connection_for(state: StationState, slot: int, ca_file: str | None = None) -> Connection:
    """The connection a configuration slot describes; ValueError when the station cannot use it."""
    profile = state.network_profiles[slot]
    security = int(profile["security_profile"])
    url = str(profile["ocpp_csms_url"]).rstrip("/") + "/" + state.cid
    context = None
    if security >= 2 and not url.startswith("wss://"):
        raise ValueError(f"security profile {security} needs a wss:// URL")
    if url.startswith("wss://"):
        context = state.certificates.client_context(CSMS_ROOTS, ca_file, client_certificate=security == 3)
    headers = {}
    if security in (1, 2) and state.password is not None:
        token = base64.b64encode(f"{state.cid}:{state.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return Connection(slot, url, security, context, headers)


def connection_slots(state: StationState) -> list[int]:
    """The configuration slots to try, in NetworkConfigurationPriority order (slot 0 last if unnamed)."""
    named = [int(s) for s in state.members("OCPPCommCtrlr", "NetworkConfigurationPriority") if s.isdigit()]
    slots = [s for s in dict.fromkeys(named) if s in state.network_profiles]
    return slots or [0]


class SecurityBlock(StationBase):
    """Blocks A and M of a simulated station."""

    # --- certificates (M03, M04, M05) ----------------------------------------------------------------
    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **kwargs: Any) -> Any:
        if certificate_type not in INSTALLABLE:
            return call_result.InstallCertificate(status="Rejected", status_info=reason("UnsupportedCertType"))
        status = self.state.certificates.install(certificate_type, certificate)
        info = None if status == "Accepted" else reason("InvalidCertificate" if status == "Rejected" else "StoreFull")
        return call_result.InstallCertificate(status=status, status_info=info)

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **kwargs: Any) -> Any:
        status = self.state.certificates.delete(certificate_hash_data)
        return call_result.DeleteCertificate(status=status)

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: list[str] | None = None, **kwargs: Any) -> Any:
        store = self.state.certificates
        found = [{"certificateType": kind, "certificateHashData": data} for kind, data in store.ids(certificate_type)]
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data_chain=found)

    async def sign_certificate(self) -> None:
        """A15 / M-block renewal: a new key pair and SignCertificate with its CSR (CN = our id, O =
        SecurityCtrlr.OrganizationName)."""
        organization = self.state.variable("SecurityCtrlr", "OrganizationName").read()
        csr = self.state.certificates.csr_new(self.state.cid, organization)
        response = await self.call(call.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate"))
        if response is not None and response.status != "Accepted":
            logger.info("%s: SignCertificate %s (%s)", self.state.cid, response.status, response.status_info)

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, certificate_type: str | None = None, **kwargs: Any) -> Any:
        if certificate_type not in (None, "ChargingStationCertificate"):  # we never ask for a V2G certificate
            return call_result.CertificateSigned(status="Rejected", status_info=reason("NoCSR", "no V2G CSR sent"))
        accepted, why = self.state.certificates.signed(certificate_chain, self.state.cid)
        if not accepted:
            logger.info("%s: CertificateSigned refused: %s", self.state.cid, why)
            return call_result.CertificateSigned(status="Rejected", status_info=reason("InvalidCertificate", why))
        return call_result.CertificateSigned(status="Accepted")

    @after(Action.certificate_signed)
    async def after_certificate_signed(self, **kwargs: Any) -> None:
        if self.state.certificates.refusal:  # a certificate refused is a security event (A02)
            await self.call(
                call.SecurityEventNotification(
                    type="InvalidChargingStationCertificate",
                    timestamp=self.now(),
                    tech_info="CertificateSigned refused",
                )
            )

    # --- network profiles (B09) and security profile upgrade (A05) -----------------------------------
    @on(Action.set_network_profile)
    def on_set_network_profile(self, configuration_slot: int, connection_data: dict[str, Any], **kwargs: Any) -> Any:
        slots = [int(slot) for slot in NETWORK_SLOTS.split(",")]
        current = int(self.state.network_profiles[self.state.connected_slot]["security_profile"])
        security = int(connection_data["security_profile"])
        if configuration_slot not in slots or configuration_slot == self.state.connected_slot:
            return call_result.SetNetworkProfile(status="Rejected", status_info=reason("InvalidSlot"))
        if connection_data["ocpp_version"] != "OCPP20" or connection_data["ocpp_transport"] != "JSON":
            return call_result.SetNetworkProfile(status="Rejected", status_info=reason("UnsupportedVersion"))
        if not 0 <= security <= 3 or security < current:  # A05.FR.?: never a lower profile
            return call_result.SetNetworkProfile(status="Rejected", status_info=reason("InvalidProfile"))
        store = self.state.certificates
        if security >= 2 and not store.roots(*CSMS_ROOTS) and not self.options.tls_ca:
            return call_result.SetNetworkProfile(status="Rejected", status_info=reason("NoCSMSRoot"))
        if security == 3 and not store.own_chain:
            return call_result.SetNetworkProfile(status="Rejected", status_info=reason("NoCertificate"))
        self.state.network_profiles[configuration_slot] = dict(connection_data)
        return call_result.SetNetworkProfile(status="Accepted")
