"""Surveys on merge and unmerge (the identity registry): a person's invitations and answers
move to the survivor and back. Nothing is folded: an invitation is unique per survey and
touchpoint object, never per person, so two merged people's rows never clash."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.surveys.models import Invitation, SurveyResponse


def register_all() -> None:
    register(Relation(Invitation, "contact", kind="contact", label="survey invitations"))
    register(Relation(SurveyResponse, "contact", kind="contact", label="survey answers"))
