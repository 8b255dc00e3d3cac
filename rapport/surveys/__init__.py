"""Surveys at every touchpoint (CSAT, NPS, ratings, choices, free text), answered without a login, on the timeline."""
