"""Firmware updates (1.6 UpdateFirmware / SignedUpdateFirmware, 2.0.1 UpdateFirmware, PublishFirmware) and log
uploads (GetDiagnostics, GetLog) with their lifecycles."""
