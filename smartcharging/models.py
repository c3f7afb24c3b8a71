"""The smart charging data model."""
