"""Marketing's API operations and pages, for the permission harness
(``rapport.core.testing.permissions``): a segment, a draft campaign with a variant, a sent
campaign (for the winner and report), and an event. Campaigns are seen by every role
that may view them (marketing runs them; the rest read); stewards see none."""

from __future__ import annotations

from rapport.consent.models import Purpose
from rapport.core.testing.permissions import Case, World
from rapport.customers.models import Contact
from rapport.marketing import services
from rapport.marketing.models import Campaign
from rapport.marketing.tests.factories import SYSTEM, make_campaign, make_segment

DEPENDS = ("customers",)
K, V = "campaign", "view"
CHANGE = ((K, "change"),)
ADD = ((K, "add"),)
RULE = {"op": "and", "rules": [{"field": "contact.lifecycle", "op": "eq", "value": "customer"}]}


def build(world: World) -> None:
    Purpose.objects.get_or_create(key="product_news", defaults={"label": "Product news"})
    segment = make_segment(rules=RULE, name="Customers")
    spare = make_segment(rules=RULE, name="Spare")
    draft = make_campaign(segment=segment, name="Spring offer", variants=1)
    sent = make_campaign(segment=segment, name="Winter offer", variants=2)
    Campaign.objects.filter(pk=sent.pk).update(status=Campaign.Status.SENT)
    event = services.event_create(
        actor=SYSTEM,
        data={"name": "Trade fair", "starts_on": "2026-03-01", "purpose": "product_news"},
    )
    world.ids.update(
        segment=segment.pk, spare_segment=spare.pk, campaign=draft.pk,
        variant=draft.variants.get().pk, sent_campaign=sent.pk,
        sent_variant=sent.variants.order_by("id").first().pk,  # type: ignore[union-attr]
        event=event.pk,
    )  # fmt: skip
    assert Contact.objects.filter(pk=world.ids["contact"]).exists()


CASES = [
    # API: segments
    Case("get", "/segment-fields", needs=((K, V),)),
    Case("get", "/segments", needs=((K, V),)),
    Case(
        "post", "/segments", body={"name": "New", "rules": RULE}, success=201, needs=((K, V), *ADD)
    ),
    Case("post", "/segments/preview", body={"rules": RULE}, needs=((K, V),)),
    Case("get", "/segments/{segment}", needs=((K, V),)),
    Case("patch", "/segments/{segment}", body={"name": "Renamed"}, needs=((K, V), *CHANGE)),
    Case("delete", "/segments/{spare_segment}", success=204, needs=((K, V), (K, "delete"))),
    Case("get", "/segments/{segment}/count", needs=((K, V),)),
    Case("post", "/segments/{spare_segment}/freeze", needs=((K, V), *CHANGE)),
    # API: campaigns
    Case("get", "/campaigns", needs=((K, V),)),
    Case(
        "post",
        "/campaigns",
        body={"name": "Autumn", "purpose": "product_news"},
        success=201,
        needs=((K, V), *ADD),
    ),  # fmt: skip
    Case("get", "/campaigns/{campaign}", needs=((K, V),)),
    Case("patch", "/campaigns/{campaign}", body={"goal": "Sell chairs"}, needs=((K, V), *CHANGE)),
    Case("delete", "/campaigns/{campaign}", success=204, needs=((K, V), (K, "delete"))),
    Case(
        "post",
        "/campaigns/{campaign}/variants",
        body={"label": "B", "subject": "Hi", "body": "Hello"},
        success=201,
        needs=((K, V), *CHANGE),
    ),  # fmt: skip
    Case(
        "patch",
        "/campaigns/{campaign}/variants/{variant}",
        body={"subject": "Hey"},
        needs=((K, V), *CHANGE),
    ),
    Case(
        "delete", "/campaigns/{campaign}/variants/{variant}", success=204, needs=((K, V), *CHANGE)
    ),
    Case("post", "/campaigns/{campaign}/send", body={}, success=202, needs=((K, V), *CHANGE)),
    Case(
        "post",
        "/campaigns/{sent_campaign}/winner",
        body=lambda w: {"variant": w.ids["sent_variant"]},
        needs=((K, V), *CHANGE),
    ),  # fmt: skip
    Case("get", "/campaigns/{sent_campaign}/report", needs=((K, V),)),
    # API: events
    Case("get", "/marketing-events", needs=((K, V),)),
    Case(
        "post",
        "/marketing-events",
        body={"name": "Meetup", "starts_on": "2026-04-01"},
        success=201,
        needs=((K, V), *ADD),
    ),  # fmt: skip
    Case("get", "/marketing-events/{event}/people", needs=((K, V),)),
    Case(
        "post",
        "/marketing-events/{event}/people",
        body=lambda w: {"contact": w.ids["contact"]},
        success=201,
        needs=((K, V), *CHANGE, ("contact", V)),
    ),  # fmt: skip
    # Pages
    Case("get", url="marketing:home", needs=((K, V),)),
    Case("get", url="marketing:campaign-create", needs=((K, V), *ADD)),
    Case(
        "post",
        url="marketing:campaign-create",
        body={"name": "Autumn", "purpose": "product_news"},
        success=302,
        needs=((K, V), *ADD),
    ),  # fmt: skip
    Case("get", url="marketing:campaign-detail", args=("campaign",), needs=((K, V),)),
    Case(
        "post",
        url="marketing:variant-add",
        args=("campaign",),
        body={"label": "B", "subject": "Hi", "body": "Hello"},
        success=302,
        needs=((K, V), *CHANGE),
    ),  # fmt: skip
    Case(
        "post",
        url="marketing:variant-delete",
        args=("campaign", "variant"),
        success=302,
        needs=((K, V), *CHANGE),
    ),
    Case(
        "post",
        url="marketing:campaign-send",
        args=("campaign",),
        success=302,
        needs=((K, V), *CHANGE),
    ),
    # The test finds no winner in a campaign nobody received: the page says why (422).
    Case(
        "post",
        url="marketing:campaign-winner",
        args=("sent_campaign",),
        success=422,
        needs=((K, V), *CHANGE),
    ),
    Case("get", url="marketing:report", needs=((K, V),)),
    Case("get", url="marketing:report-csv", needs=((K, V), (K, "export"))),
    Case("get", url="marketing:segments", needs=((K, V),)),
    Case("get", url="marketing:segment-create", needs=((K, V), *ADD)),
    Case(
        "post",
        url="marketing:segment-create",
        body={
            "name": "Leads",
            "match": "all",
            "mode": "is",
            "field": "contact.lifecycle",
            "op": "eq",
            "value": "lead",
            "days": "",
        },
        success=302,
        needs=((K, V), *ADD),
    ),  # fmt: skip
    Case(
        "post",
        url="marketing:segment-builder",
        body={
            "match": "all",
            "mode": "is",
            "field": "contact.lifecycle",
            "op": "eq",
            "value": "lead",
            "days": "",
            "action": "add",
        },
        needs=((K, V),),
    ),  # fmt: skip
    Case("get", url="marketing:segment-detail", args=("segment",), needs=((K, V),)),
    Case(
        "post",
        url="marketing:segment-detail",
        args=("segment",),
        body={"name": "Renamed", "rules_json": ""},
        success=302,
        needs=((K, V), *CHANGE),
    ),  # fmt: skip
    Case(
        "post",
        url="marketing:segment-freeze",
        args=("spare_segment",),
        success=302,
        needs=((K, V), *CHANGE),
    ),
    Case(
        "post",
        url="marketing:segment-delete",
        args=("spare_segment",),
        success=302,
        needs=((K, V), (K, "delete")),
    ),
    Case("get", url="marketing:events", needs=((K, V),)),
    Case(
        "post",
        url="marketing:events",
        body={"name": "Meetup", "starts_on": "2026-04-01"},
        success=302,
        needs=((K, V), *ADD),
    ),  # fmt: skip
    Case("get", url="marketing:event-detail", args=("event",), needs=((K, V),)),
    Case(
        "post",
        url="marketing:event-person-add",
        args=("event",),
        body=lambda w: {"contact": w.ids["contact"]},
        success=302,
        needs=((K, V), *CHANGE, ("contact", V)),
    ),  # fmt: skip
    Case(
        "post", url="marketing:event-cards", args=("event",), success=302, needs=((K, V), *CHANGE)
    ),
    Case(
        "get",
        url="marketing:contact-campaigns",
        args=("contact",),
        parent="contact",
        needs=((K, V),),
    ),
]
