"""Surveys at every touchpoint (CSAT, NPS, ratings, choices, free text), answered without a
login, on the timeline.

A ``Survey`` is asked after a touchpoint (a case resolved, a deal won or lost, a meeting
held, a campaign message sent) or sent by hand (to a list or a marketing segment). Each
person asked gets an ``Invitation``: one per survey and touchpoint object (a case gets at
most one), with a random token behind a signed link. A person the survey may not reach
(no consent for "surveys" by e-mail, over the survey's cap, no address) gets no invitation:
the row is kept with status ``skipped`` and the reason, so the decision is visible and a
touchpoint heard twice decides nothing twice. An answer is one ``SurveyResponse`` per
invitation with one ``Answer`` per question; the response repeats the invitation's
contact, touchpoint, department and object so the voice-of-the-customer work can query
free text by person, touchpoint, department and date without joins through invitations.
See docs/surveys.md and docs/decisions (the survey model).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import TimestampedModel
from rapport.timeline.models import Department

__all__ = ["Answer", "Department", "Invitation", "Question", "Survey", "SurveyResponse", "Trigger"]


def new_token() -> str:
    return secrets.token_urlsafe(18)


class Trigger(models.TextChoices):
    """What sends a survey: a touchpoint kind (rapport.core.touchpoints.KINDS) or a person."""

    CASE_RESOLVED = "case_resolved", "A case was resolved"
    DEAL_WON = "deal_won", "A deal was won"
    DEAL_LOST = "deal_lost", "A deal was lost"
    MEETING_HELD = "meeting_held", "A meeting was held"
    CAMPAIGN_SENT = "campaign_sent", "A campaign message was sent"
    MANUAL = "manual", "Sent by hand (a list or a segment)"


class Survey(TimestampedModel):
    class CapScope(models.TextChoices):
        SURVEY = "survey", "Invitations of this survey"
        ALL = "all", "Invitations of any survey"

    name = models.CharField(max_length=200)
    intro = models.TextField(blank=True, help_text="Shown above the questions.")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    department = models.CharField(
        max_length=12, choices=Department.choices, default=Department.SERVICE,
        help_text="Responsible for what is asked (a touchpoint's own department wins).",
    )  # fmt: skip
    active = models.BooleanField(default=True)
    # At most cap_count invitations per person in cap_days (of this survey, or of any).
    cap_count = models.PositiveSmallIntegerField(default=1)
    cap_days = models.PositiveSmallIntegerField(default=30)
    cap_scope = models.CharField(max_length=10, choices=CapScope.choices, default=CapScope.SURVEY)
    valid_days = models.PositiveSmallIntegerField(
        default=30, help_text="An invitation can be answered for this many days."
    )
    subject = models.CharField(max_length=200, default="How did we do?")
    message = models.TextField(
        blank=True, help_text="The e-mail's text above the link ({name}: the person's first name)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["trigger", "active"], name="survey_trigger_idx")]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", "Rating 1–5"
        NPS = "nps", "Net Promoter Score 0–10"
        CSAT = "csat", "Satisfaction (CSAT) 1–5"
        SINGLE = "single", "One choice"
        MULTIPLE = "multiple", "Several choices"
        TEXT = "text", "Free text"

    SCALES = {Kind.RATING: (1, 5), Kind.CSAT: (1, 5), Kind.NPS: (0, 10)}

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=500)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True, help_text="For one or several choices.")

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> tuple[int, int] | None:
        return self.SCALES.get(self.kind)  # type: ignore[call-overload]


class Invitation(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        SKIPPED = "skipped", "Not invited"

    class Skip(models.TextChoices):
        CONSENT = "consent", "No consent for surveys by e-mail"
        CAP = "cap", "Over the survey's cap"
        NO_ADDRESS = "no_address", "No e-mail address"
        NOT_VISIBLE = "not_visible", "The sender may not see the contact"
        ALREADY = "already", "Already invited and not answered yet"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    touchpoint = models.CharField(max_length=20, choices=Trigger.choices)
    object_kind = models.CharField(max_length=20, blank=True)  # "case", "deal", "task", "campaign"
    object_id = models.BigIntegerField(null=True, blank=True)
    department = models.CharField(max_length=12, choices=Department.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    skip_reason = models.CharField(max_length=12, choices=Skip.choices, blank=True)
    skip_detail = models.CharField(max_length=300, blank=True)
    token = models.CharField(max_length=40, unique=True, null=True, blank=True, default=new_token)
    message = models.ForeignKey(
        "consent.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    to_address = models.CharField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(help_text="When the touchpoint happened.")
    sent_at = models.DateTimeField(help_text="When the invitation was decided and queued.")
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # A case, a deal, a meeting gets at most one invitation per survey. A campaign
            # is one object for many people: it is deduplicated per person by the service.
            models.UniqueConstraint(
                fields=["survey", "object_kind", "object_id"],
                condition=Q(object_id__isnull=False) & ~Q(object_kind="campaign"),
                name="survey_invitation_once_per_object",
            ),
        ]
        indexes = [
            # The cap: a person's recent invitations.
            models.Index(fields=["contact", "sent_at"], name="survey_inv_contact_idx"),
            models.Index(fields=["survey", "status", "sent_at"], name="survey_inv_survey_idx"),
            models.Index(fields=["object_kind", "object_id"], name="survey_inv_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → contact {self.contact_id}"

    @property
    def answer(self) -> SurveyResponse | None:
        """The person's answer, or None (without raising, for templates and the API)."""
        try:
            return self.response
        except SurveyResponse.DoesNotExist:
            return None


class SurveyResponse(models.Model):
    """One person's answer to one invitation (at most one: a second submit changes nothing)."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    touchpoint = models.CharField(max_length=20, choices=Trigger.choices)
    object_kind = models.CharField(max_length=20, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    department = models.CharField(max_length=12, choices=Department.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField()
    # The survey's headline score (its first CSAT, NPS or rating question), for quick reads.
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)  # the free-text answers, joined
    entry = models.ForeignKey(
        "timeline.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["survey", "submitted_at"], name="survey_resp_survey_idx"),
            models.Index(fields=["contact", "submitted_at"], name="survey_resp_contact_idx"),
            models.Index(fields=["object_kind", "object_id"], name="survey_resp_object_idx"),
            models.Index(fields=["department", "submitted_at"], name="survey_resp_dept_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.survey}: {self.score}"


class Answer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    number = models.SmallIntegerField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="survey_answer_once"),
        ]
        indexes = [models.Index(fields=["question", "number"], name="survey_answer_q_idx")]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.number if self.number is not None else self.text[:30]}"
