"""The customer master's API operations and pages, for the permission harness
(``rapport.core.testing.permissions``). Every other app builds on this world: bob's
account and contact, with a hidden note and a hidden data-dictionary value."""

from __future__ import annotations

from typing import Any

from rapport.core.testing.permissions import (
    ACCOUNT_NOTES,
    HIDDEN_FIELD_ROLES,
    SALARY_FIELD,
    SALARY_VALUE,
    Case,
    World,
)
from rapport.customers import services
from rapport.customers.models import DataField
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact

C, A, D, V = "contact", "account", "datafield", "view"


def build(world: World) -> None:
    bob = world.users["bob"]
    DataField.objects.create(
        entity="contact",
        key=SALARY_FIELD,
        label="Salary",
        type="text",
        view_roles=list(HIDDEN_FIELD_ROLES),
        edit_roles=list(HIDDEN_FIELD_ROLES),
    )
    account = make_account(
        owner=bob, name="Northwind", domains=["northwind.example"], notes=ACCOUNT_NOTES
    )
    other_account = make_account(owner=bob, name="Other")
    contact = make_contact(
        owner=bob,
        full_name="Nora North",
        emails=["nora@northwind.example"],
        phones=["+44 20 7946 0018"],
        account=account,
        custom={SALARY_FIELD: SALARY_VALUE},
    )
    services.part_add(actor=SYSTEM, parent=account, part="addresses", data={"country": "GB"})
    services.part_add(
        actor=SYSTEM,
        parent=account,
        part="external_ids",
        data={"source": "erp", "external_id": "A1"},
    )
    services.part_add(actor=SYSTEM, parent=contact, part="addresses", data={"country": "FR"})
    services.part_add(
        actor=SYSTEM,
        parent=contact,
        part="external_ids",
        data={"source": "erp", "external_id": "C1"},
    )
    datafield = DataField.objects.create(entity="contact", key="tier", label="Tier", type="text")
    ids = world.ids
    ids.update(contact=contact.pk, account=account.pk, other_account=other_account.pk)
    ids.update(datafield=datafield.pk)
    for segment, related in (
        ("emails", "emails"),
        ("phones", "phones"),
        ("addresses", "addresses"),
        ("memberships", "memberships"),
        ("external-ids", "external_ids"),
    ):
        ids[f"contact_{segment}"] = getattr(contact, related).get().pk
    for segment, related in (
        ("domains", "domains"),
        ("addresses", "addresses"),
        ("external-ids", "external_ids"),
    ):
        ids[f"account_{segment}"] = getattr(account, related).get().pk
    ids["email_part"], ids["domain_part"] = "emails", "domains"
    ids["contacts"], ids["accounts"] = "contacts", "accounts"  # the export kinds


SHOWS_CONTACT = (SALARY_VALUE,)
SHOWS_ACCOUNT = (ACCOUNT_NOTES,)

CASES: list[Case] = [
    Case("get", "/contacts", needs=((C, V),), shows=SHOWS_CONTACT),
    Case("post", "/contacts", body={"full_name": "New Person"}, success=201, needs=((C, "add"),)),
    Case("get", "/contacts/{contact}", parent=C, needs=((C, V),), shows=SHOWS_CONTACT),
    Case(
        "patch", "/contacts/{contact}", body={"job_title": "Boss"}, parent=C, needs=((C, "change"),)
    ),
    Case("delete", "/contacts/{contact}", success=204, parent=C, needs=((C, "delete"),)),
    Case("get", "/contacts/{contact}/history", parent=C, needs=(("audit", V),)),
    Case("get", "/accounts", needs=((A, V),)),
    Case("post", "/accounts", body={"name": "NewCo"}, success=201, needs=((A, "add"),)),
    Case("get", "/accounts/{account}", parent=A, shows=SHOWS_ACCOUNT),
    Case(
        "patch", "/accounts/{account}", body={"industry": "Oil"}, parent=A, needs=((A, "change"),)
    ),
    Case("delete", "/accounts/{account}", success=204, parent=A, needs=((A, "delete"),)),
    Case("get", "/accounts/{account}/history", parent=A, needs=(("audit", V),)),
    Case("get", "/accounts/{account}/people", parent=A),
    Case("get", "/datafields", needs=((D, V),)),
    Case(
        "post",
        "/datafields",
        body={"entity": "contact", "label": "Hobby", "type": "text"},
        success=201,
        needs=((D, "add"),),
    ),
    Case("get", "/datafields/{datafield}", needs=((D, V),)),
    Case(
        "patch", "/datafields/{datafield}", body={"label": "Tier!"}, needs=((D, V), (D, "change"))
    ),
    Case("delete", "/datafields/{datafield}", success=204, needs=((D, V), (D, "change"))),
    Case("get", "/search", query="?q=Nora"),
    Case("get", "/exports/{contacts}", needs=((C, "export"),)),
    Case("get", "/exports/{accounts}", needs=((A, "export"),)),
    # Pages.
    Case("get", url="customers:search", query="?q=nora"),
    Case("get", url="customers:contact-list", needs=((C, V),)),
    Case("get", url="customers:contact-export", args=("csv",), needs=((C, "export"),)),
    Case("get", url="customers:contact-create", needs=((C, "add"),)),
    Case("get", url="customers:contact-detail", args=("contact",), parent=C, shows=SHOWS_CONTACT),
    Case("get", url="customers:contact-edit", args=("contact",), parent=C, needs=((C, "change"),)),
    Case(
        "get", url="customers:contact-delete", args=("contact",), parent=C, needs=((C, "delete"),)
    ),
    Case(
        "post",
        url="customers:contact-part-add",
        args=("contact", "email_part"),
        body={"email": "x@example.com"},
        success=302,
        parent=C,
        needs=((C, "change"),),
    ),
    Case(
        "post",
        url="customers:contact-part-delete",
        args=("contact", "email_part", "contact_emails"),
        success=302,
        parent=C,
        needs=((C, "change"),),
    ),
    Case("get", url="customers:account-list", needs=((A, V),)),
    Case("get", url="customers:account-export", args=("csv",), needs=((A, "export"),)),
    Case("get", url="customers:account-create", needs=((A, "add"),)),
    Case("get", url="customers:account-detail", args=("account",), parent=A, shows=SHOWS_ACCOUNT),
    Case("get", url="customers:account-edit", args=("account",), parent=A, needs=((A, "change"),)),
    Case(
        "get", url="customers:account-delete", args=("account",), parent=A, needs=((A, "delete"),)
    ),
    Case(
        "post",
        url="customers:account-part-add",
        args=("account", "domain_part"),
        body={"domain": "new.example"},
        success=302,
        parent=A,
        needs=((A, "change"),),
    ),
    Case(
        "post",
        url="customers:account-part-delete",
        args=("account", "domain_part", "account_domains"),
        success=302,
        parent=A,
        needs=((A, "change"),),
    ),
    Case("get", url="customers:datadict", needs=((D, V),)),
    Case("get", url="customers:datafield-create", needs=((D, "add"),)),
    Case("get", url="customers:datafield-edit", args=("datafield",), needs=((D, "change"),)),
    Case(
        "post",
        url="customers:datafield-retire",
        args=("datafield",),
        success=302,
        needs=((D, "change"),),
    ),
]
PART_BODIES: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {
    (C, "emails"): ({"email": "new@example.com"}, {"kind": "home"}),
    (C, "phones"): ({"number": "+44 20 7946 0999"}, {"kind": "mobile"}),
    (C, "addresses"): ({"country": "GB"}, {"city": "York"}),
    (C, "memberships"): ({"account": "{other_account}"}, {"rank": 3}),
    (C, "external-ids"): ({"source": "crm", "external_id": "new"}, None),
    (A, "domains"): ({"domain": "new.example"}, None),
    (A, "addresses"): ({"country": "GB"}, {"city": "York"}),
    (A, "external-ids"): ({"source": "crm", "external_id": "new"}, None),
}
for (kind, segment), (create, patch) in PART_BODIES.items():
    base = f"/{kind}s/{{{kind}}}/{segment}"
    item = f"{base}/{{{kind}_{segment}}}"
    CASES += [
        Case("get", base, parent=kind),
        Case("post", base, body=create, success=201, parent=kind, needs=((kind, "change"),)),
        Case("get", item, parent=kind),
        Case("delete", item, success=204, parent=kind, needs=((kind, "change"),)),
    ]
    if patch is not None:
        CASES.append(Case("patch", item, body=patch, parent=kind, needs=((kind, "change"),)))
