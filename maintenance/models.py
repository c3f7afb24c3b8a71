"""The firmware and logs data model."""
