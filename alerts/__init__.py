"""Operator alerts: what an operator must look at now (critical security events, repeated failed logins), shown
on the dashboard until acknowledged."""
