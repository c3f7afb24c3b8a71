"""2.0.1 variable monitoring (block N): the monitors set on each station's device model and the ones it reports."""
