"""OCPP 2.0.1: only its error spellings so far (a 2.0.1 frame is answered in them). The handlers,
command catalogue, shortcuts and result effects come with the issue that adds the version."""
