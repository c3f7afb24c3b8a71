"""The tariffs and cost data model."""
