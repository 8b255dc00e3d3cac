"""The steward's pages: the queue, the merge screen, compare, merges and undo, scans and
the match settings (``rapport.identity.views``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from conftest import actor
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import services
from rapport.identity.models import Candidate, Cluster, MatchSettings, Merge, NotDuplicate, Scan

# given, family, email, phone, organisation, address, identifier, given/family rarity
VECTOR = [3, 3, 3, 0, -1, -1, -1, 2, 2]
ACCOUNT_VECTOR = [3, 2, -1, -1]  # domain, name, address, phone


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _cluster(
    *records, probability: float = 0.93, value: float = 10.0, kind: str = "contact"
) -> Cluster:
    ids = sorted(r.pk for r in records)
    cluster = Cluster.objects.create(
        kind=kind, record_ids=ids, size=len(ids), score=probability, value=value
    )
    for i, left in enumerate(ids):
        for right in ids[i + 1 :]:
            Candidate.objects.create(
                kind=kind,
                left_id=left,
                right_id=right,
                probability=probability,
                score=8.0,
                vector=VECTOR if kind == "contact" else ACCOUNT_VECTOR,
                cluster=cluster,
            )
    return cluster


def _pair(**second):
    a = make_contact(
        given_name="Ann", family_name="Smith", emails=["ann@acme.com"], job_title="CTO"
    )
    b = make_contact(
        given_name="Ann",
        family_name="Smith",
        emails=["ann@acme.com", "ann.smith@gmail.com"],
        **({"job_title": "Head of buying"} | second),
    )
    return a, b


def _merge_post(a: Contact, b: Contact, **extra: str) -> dict:
    return {
        "shown": [str(a.pk), str(b.pk)],
        "survivor": str(a.pk),
        f"version-{a.pk}": str(a.version),
        f"version-{b.pk}": str(b.version),
        **extra,
    }


# --- the queue ----------------------------------------------------------------------------


def test_queue_lists_a_cluster_with_the_names_escaped(personas):
    a = make_contact(given_name="<b>Ann</b>", family_name="Smith", emails=["ann@acme.com"])
    b = make_contact(given_name="Ann", family_name="Smith", emails=["ann@acme.com"])
    cluster = _cluster(a, b, probability=0.93)

    response = _client(personas["stella"]).get(reverse("identity:queue"))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("identity:cluster", args=[cluster.pk]) in page
    assert "&lt;b&gt;Ann&lt;/b&gt; Smith" in page
    assert "<b>Ann</b>" not in page
    assert "93 %" in page
    assert 'Contacts <span class="badge">1</span>' in page
    assert "Scan contacts for duplicates" in page  # stewards may scan
    assert '<a href="/duplicates/">Duplicates</a>' in page  # in the menu


def test_queue_filters_assigned_to_me_unassigned_and_skipped(personas):
    stella = personas["stella"]
    mine = _cluster(*_pair())
    free = _cluster(*_pair())
    skipped = _cluster(*_pair())
    Cluster.objects.filter(pk=mine.pk).update(assigned_to=stella)
    Cluster.objects.filter(pk=skipped.pk).update(status=Cluster.Status.SKIPPED)
    client = _client(stella)

    def listed(show: str) -> set[int]:
        page = client.get(reverse("identity:queue"), {"show": show}).content.decode()
        return {int(pk) for pk in re.findall(r"/duplicates/clusters/(\d+)/", page)}

    assert listed("") == {mine.pk, free.pk}
    assert listed("me") == {mine.pk}
    assert listed("none") == {free.pk}
    assert listed("skipped") == {skipped.pk}


def test_queue_pages_with_a_cursor(personas):
    clusters = [_cluster(*_pair(), value=float(v)) for v in range(27)]
    client = _client(personas["stella"])

    first = client.get(reverse("identity:queue")).content.decode()
    cursor = re.search(r'href="\?cursor=([^"&]+)"', first)
    assert cursor, "a next-page link"
    second = client.get(reverse("identity:queue"), {"cursor": cursor.group(1)}).content.decode()

    seen = re.findall(r"/duplicates/clusters/(\d+)/", first + second)
    assert sorted(map(int, seen)) == sorted(c.pk for c in clusters)


def test_queue_query_count_does_not_grow_with_the_rows(personas, django_assert_max_num_queries):
    for _ in range(12):
        _cluster(*_pair())
    Cluster.objects.update(assigned_to=personas["alice"])
    client = _client(personas["stella"])
    client.get(reverse("identity:queue"))  # warm the per-process caches

    # With every group's pairs, for the reasons, and the data dictionary's identifying fields.
    with django_assert_max_num_queries(11):
        response = client.get(reverse("identity:queue"))
    assert response.content.decode().count("data-dup-row") == 12


def test_sales_rep_may_not_see_the_queue_nor_merge(personas):
    a, b = _pair()
    cluster = _cluster(a, b)
    client = _client(personas["bob"])

    assert client.get(reverse("identity:queue")).status_code == 403
    response = client.post(reverse("identity:cluster-merge", args=[cluster.pk]), _merge_post(a, b))

    assert response.status_code == 403
    assert Contact.objects.filter(pk=b.pk).exists()
    assert "Duplicates</a>" not in client.get(reverse("customers:contact-list")).content.decode()


def test_manager_sees_a_cluster_but_may_not_merge_it(personas):
    a, b = _pair()
    cluster = _cluster(a, b)
    client = _client(personas["mo"])

    page = client.get(reverse("identity:cluster", args=[cluster.pk]))
    assert page.status_code == 200
    assert "Head of buying" in page.content.decode()
    assert 'data-shortcut="m"' not in page.content.decode()
    assert 'name="survivor"' not in page.content.decode()

    response = client.post(reverse("identity:cluster-merge", args=[cluster.pk]), _merge_post(a, b))
    assert response.status_code == 403
    assert Contact.objects.filter(pk=b.pk).exists()
    assert not Merge.objects.exists()
    assert client.post(reverse("identity:cluster-skip", args=[cluster.pk])).status_code == 403


# --- the merge screen ---------------------------------------------------------------------


def test_cluster_page_highlights_differing_values_and_explains_the_evidence(personas):
    a, b = _pair()
    cluster = _cluster(a, b, probability=0.93)

    response = _client(personas["stella"]).get(reverse("identity:cluster", args=[cluster.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    differing = re.findall(r'<tr class="dup-differs">(.*?)</tr>', page, re.S)
    assert len(differing) == 1 and "Job title" in differing[0]
    assert "CTO" in differing[0] and "Head of buying" in differing[0]
    # b has more to it (two e-mails), so it is suggested to keep, and its job title with it.
    assert f'name="survivor" value="{b.pk}" data-survivor-key="2" checked' in page
    assert f'name="choice-job_title" value="{b.pk}" checked' in differing[0]
    same = re.search(r"<tr class=\"\">\s*<th[^>]*>Family name</th>", page)
    assert same, "a row whose values agree is not highlighted"
    # The parts a merge unites, per record.
    assert "ann.smith@gmail.com" in page and "a merge unites these" in page
    # The pair's probability, then each piece of evidence with its sign.
    assert "93 %</strong> likely the same" in page
    assert re.search(r'dup-ev-for"><span class="dup-sign"[^>]*>\+</span> same e-mail address', page)
    assert re.search(
        r'dup-ev-against"><span class="dup-sign"[^>]*>−</span> different phone numbers', page
    )
    assert 'src="/static/js/duplicates.js"' in page
    assert "<script>" not in page  # no inline script: the CSP forbids it


def test_an_account_cluster_shows_domains_and_merges(personas):
    acme = make_account(name="Acme Ltd", domains=["acme.com"], industry="Tools")
    other = make_account(name="ACME Limited", domains=["acme.co.uk"], industry="Hardware")
    cluster = _cluster(acme, other, kind="account")
    client = _client(personas["stella"])

    page = client.get(reverse("identity:cluster", args=[cluster.pk])).content.decode()

    assert "acme.com" in page and "acme.co.uk" in page and "Domains" in page
    assert re.search(r'<tr class="dup-differs">\s*<th[^>]*>Industry', page)
    assert "same web domain" in page  # the pair's evidence
    response = client.post(
        reverse("identity:cluster-merge", args=[cluster.pk]),
        _merge_post(acme, other, **{"choice-industry": str(other.pk)}),
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.industry == "Hardware"
    assert sorted(acme.domains.values_list("domain", flat=True)) == ["acme.co.uk", "acme.com"]


def test_choosing_another_survivor_reloads_the_form_with_its_values(personas):
    a, b = _pair()
    cluster = _cluster(a, b)

    response = _client(personas["stella"]).get(
        reverse("identity:cluster", args=[cluster.pk]),
        {"survivor": a.pk},  # b is the suggestion (it has more e-mails)
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<form id="merge-form"') and "<html" not in page
    assert f'name="survivor" value="{a.pk}" data-survivor-key="1" checked' in page
    assert f'name="choice-job_title" value="{a.pk}" checked' in page


def test_merge_keeps_the_value_the_steward_chose(personas):
    a, b = _pair()
    cluster = _cluster(a, b)
    client = _client(personas["stella"])

    response = client.post(
        reverse("identity:cluster-merge", args=[cluster.pk]),
        _merge_post(a, b, **{"choice-job_title": str(b.pk)}),
    )

    assert response.status_code == 302
    a.refresh_from_db()
    assert a.job_title == "Head of buying"
    assert not Contact.objects.filter(pk=b.pk).exists()
    merge = Merge.objects.get()
    assert merge.survivor_id == a.pk and merge.merged_ids == [b.pk]
    assert merge.choices == {"job_title": b.pk}
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DONE
    # Nothing else to review: back to the queue, with a message.
    assert response["Location"] == reverse("identity:queue") + "?kind=contact"
    assert "Merged 2 contacts into" in client.get(response["Location"]).content.decode()


def test_merge_goes_on_to_the_next_open_cluster(personas):
    first = _cluster(*_pair(), value=20)
    following = _cluster(*_pair(), value=10)
    a, b = (Contact.objects.get(pk=pk) for pk in first.record_ids)

    response = _client(personas["stella"]).post(
        reverse("identity:cluster-merge", args=[first.pk]), _merge_post(a, b)
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("identity:cluster", args=[following.pk])


def test_a_record_changed_since_the_page_was_shown_merges_nothing(personas):
    a, b = _pair()
    cluster = _cluster(a, b)
    stale = _merge_post(a, b, **{"choice-job_title": str(b.pk)})
    Contact.objects.filter(pk=b.pk).update(version=b.version + 1)  # someone saved b meanwhile

    response = _client(personas["stella"]).post(
        reverse("identity:cluster-merge", args=[cluster.pk]), stale
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was merged" in page and "changed by someone else" in page
    assert f'name="version-{b.pk}" value="{b.version + 1}"' in page  # today's versions
    assert Contact.objects.filter(pk=b.pk).exists()
    assert not Merge.objects.exists()
    a.refresh_from_db()
    assert a.job_title == "CTO"


def test_not_a_duplicate_is_remembered_and_closes_the_cluster(personas):
    a, b = _pair()
    cluster = _cluster(a, b)

    response = _client(personas["stella"]).post(
        reverse("identity:cluster-not-duplicate", args=[cluster.pk]), _merge_post(a, b)
    )

    assert response.status_code == 302
    assert NotDuplicate.objects.filter(
        kind="contact", left_id=min(a.pk, b.pk), right_id=max(a.pk, b.pk)
    ).exists()
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DONE
    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_skip_sets_the_cluster_aside(personas):
    cluster = _cluster(*_pair())

    response = _client(personas["stella"]).post(reverse("identity:cluster-skip", args=[cluster.pk]))

    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.SKIPPED


def test_assign_hands_the_cluster_to_a_steward_only(personas):
    cluster = _cluster(*_pair())
    client = _client(personas["stella"])
    url = reverse("identity:cluster-assign", args=[cluster.pk])

    assert client.post(url, {"assignee": personas["alice"].pk}).status_code == 302
    cluster.refresh_from_db()
    assert cluster.assigned_to == personas["alice"]

    assert client.post(url, {"assignee": personas["bob"].pk}).status_code == 400
    cluster.refresh_from_db()
    assert cluster.assigned_to == personas["alice"]

    client.post(url, {"assignee": ""})
    cluster.refresh_from_db()
    assert cluster.assigned_to is None


# --- compare -----------------------------------------------------------------------------------


def test_compare_shows_any_records_side_by_side_and_merges_them(personas):
    a, b = _pair()
    client = _client(personas["stella"])
    query = f"?kind=contact&ids={a.pk},{b.pk}"

    page = client.get(reverse("identity:compare") + query)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Compare 2 contacts" in html and "Head of buying" in html
    assert "likely the same" in html and "same e-mail address" in html  # scored now
    response = client.post(
        reverse("identity:compare-merge") + query,
        _merge_post(a, b, **{"survivor": str(b.pk), "choice-job_title": str(a.pk)}),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:contact-detail", args=[b.pk])
    b.refresh_from_db()
    assert b.job_title == "CTO"
    assert not Contact.objects.filter(pk=a.pk).exists()


def test_compare_needs_two_records(personas):
    a, _ = _pair()
    response = _client(personas["stella"]).get(
        reverse("identity:compare"), {"kind": "contact", "ids": str(a.pk)}
    )
    assert response.status_code == 400


# --- merges and undo ------------------------------------------------------------------------------


def test_merge_list_then_undo_brings_the_merged_contact_back(personas):
    a, b = _pair()
    merge = services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=a.pk,
        merged_ids=[b.pk],
        choices={"job_title": b.pk},
    )
    client = _client(personas["stella"])

    listing = client.get(reverse("identity:merge-list")).content.decode()
    assert reverse("identity:merge", args=[merge.pk]) in listing
    assert "Job title" in listing and "stella" in listing
    detail = client.get(reverse("identity:merge", args=[merge.pk])).content.decode()
    assert "<del>CTO</del> → <ins>Head of buying</ins>" in detail
    assert reverse("identity:merge-undo", args=[merge.pk]) in detail
    confirm = client.get(reverse("identity:merge-undo", args=[merge.pk]))
    assert confirm.status_code == 200 and "Yes, undo the merge" in confirm.content.decode()
    assert Contact.objects.filter(pk=b.pk).count() == 0  # asking changes nothing

    response = client.post(reverse("identity:merge-undo", args=[merge.pk]), {"remember": "on"})

    assert response.status_code == 302
    assert Contact.objects.filter(pk=b.pk).exists()
    a.refresh_from_db()
    assert a.job_title == "CTO"
    merge.refresh_from_db()
    assert merge.undone_at is not None
    after = client.get(response["Location"]).content.decode()
    assert "What the undo could not put back" in after
    assert "Undo this merge</a>" not in after
    again = client.post(reverse("identity:merge-undo", args=[merge.pk]))
    assert again.status_code == 409


def test_undo_lists_what_changed_since_the_merge(personas):
    a, b = _pair()
    merge = services.records_merge(
        actor=actor(personas["stella"]),
        kind="contact",
        survivor_id=a.pk,
        merged_ids=[b.pk],
        choices={"job_title": b.pk},
    )
    Contact.objects.filter(pk=a.pk).update(job_title="Chief of everything")

    client = _client(personas["stella"])
    response = client.post(reverse("identity:merge-undo", args=[merge.pk]))

    page = client.get(response["Location"]).content.decode()
    assert "job title was changed since the merge" in page
    a.refresh_from_db()
    assert a.job_title == "Chief of everything"


def test_manager_may_read_merges_but_not_undo_them(personas):
    a, b = _pair()
    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    client = _client(personas["mo"])

    detail = client.get(reverse("identity:merge", args=[merge.pk]))
    assert detail.status_code == 200
    assert "Undo this merge" not in detail.content.decode()
    assert client.post(reverse("identity:merge-undo", args=[merge.pk])).status_code == 403
    assert not Contact.objects.filter(pk=b.pk).exists()


# --- scans ---------------------------------------------------------------------------------------


def test_starting_a_scan_queues_it_and_its_row_polls_while_active(personas):
    done = Scan.objects.create(kind="contact", state=Scan.State.DONE, records=40, clusters=3)
    client = _client(personas["stella"])

    response = client.post(reverse("identity:scans"), {"kind": "contact", "mode": "incremental"})

    assert response.status_code == 302
    scan = Scan.objects.exclude(pk=done.pk).get()
    assert (scan.kind, scan.mode, scan.requested_by) == (
        "contact",
        "incremental",
        personas["stella"],
    )
    page = client.get(reverse("identity:scans")).content.decode()
    active = re.search(rf'<tr id="scan-{scan.pk}"[^>]*>', page)
    finished = re.search(rf'<tr id="scan-{done.pk}"[^>]*>', page)
    assert active and 'hx-trigger="every 2s"' in active.group(0)
    assert finished and "hx-trigger" not in finished.group(0)
    row = client.get(reverse("identity:scan-row", args=[scan.pk]), headers={"HX-Request": "true"})
    assert row.content.decode().lstrip().startswith(f'<tr id="scan-{scan.pk}" hx-get=')


def test_a_manager_may_not_start_a_scan(personas):
    client = _client(personas["mo"])
    assert client.get(reverse("identity:scans")).status_code == 200
    assert client.post(reverse("identity:scans"), {"kind": "contact"}).status_code == 403
    assert not Scan.objects.exists()


# --- settings -----------------------------------------------------------------------------------


def _settings_post(conf: MatchSettings, **extra) -> dict:
    return {
        "version": str(conf.version),
        "upper": "0.95",
        "lower": "0.6",
        "contact_rule-job_title": "most_recent",
        "account_rule-name": "most_complete",
        "source_ranking": "erp\n\nweb-form\n",
        "disabled_fields": ["address"],
        **extra,
    }


def test_admin_saves_the_match_settings(personas):
    conf = services.settings_get()
    client = _client(personas["alice"])
    assert client.get(reverse("identity:settings")).status_code == 200

    response = client.post(reverse("identity:settings"), _settings_post(conf, auto_merge="on"))

    assert response.status_code == 302
    conf.refresh_from_db()
    assert (conf.upper, conf.lower, conf.auto_merge) == (0.95, 0.6, True)
    assert conf.contact_rules == {"job_title": "most_recent"}
    assert conf.account_rules == {"name": "most_complete"}
    assert conf.source_ranking == ["erp", "web-form"]
    assert conf.disabled_fields == ["address"]


def test_settings_with_a_stale_version_or_bad_thresholds_save_nothing(personas):
    conf = services.settings_get()
    client = _client(personas["alice"])

    stale = client.post(reverse("identity:settings"), _settings_post(conf, version="99"))
    assert stale.status_code == 409
    assert "Someone changed the settings" in stale.content.decode()
    bad = client.post(reverse("identity:settings"), _settings_post(conf, lower="0.99"))
    assert bad.status_code == 422
    assert "must be below the automatic one" in bad.content.decode()

    conf.refresh_from_db()
    assert (conf.upper, conf.lower) == (0.98, 0.5)


@pytest.mark.parametrize("name", ["stella", "mo", "bob"])
def test_settings_are_for_admins_only(personas, name):
    conf = services.settings_get()
    client = _client(personas[name])

    assert client.get(reverse("identity:settings")).status_code == 403
    assert client.post(reverse("identity:settings"), _settings_post(conf)).status_code == 403
    conf.refresh_from_db()
    assert conf.upper == 0.98
