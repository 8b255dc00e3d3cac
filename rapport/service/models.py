"""Service: cases, service goals (SLA) and their calendars, escalation, satisfaction."""
