"""The display messages data model."""
