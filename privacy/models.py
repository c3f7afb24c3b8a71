"""The customer information data model."""
