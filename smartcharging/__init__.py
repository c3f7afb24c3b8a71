"""Smart charging (2.0.1 block K): charging profiles, composite schedules, charging limits and the EV's charging
needs."""
