"""The monitoring data model."""
