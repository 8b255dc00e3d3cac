"""Escalation: rules that send a case to the next level when a goal is at risk or missed
or a complaint is marked important (``rules``), and escalation by hand to a person or a
skill with a question whose answer comes back to the case's owner (``services``)."""
