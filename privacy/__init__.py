"""Customer information (2.0.1 block N): what a station keeps about a customer, reported and cleared on request."""
