"""The fleet's certificate authority: the CSMS CA, the certificates it issues to chargers (SignCertificate,
CertificateSigned), the CSRs it was asked to sign, and each charger's installed certificates."""
