"""Display messages (2.0.1 block O): the messages a station shows, with priority, state, format and validity."""
