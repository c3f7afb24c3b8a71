"""The operator alerts data model."""
