"""The duplicate scan over the database (scanjob) and the check before create (check)."""

from __future__ import annotations

import csv

import pytest
from django.core.management import call_command

from conftest import actor
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import check, scans, services
from rapport.identity.models import Candidate, Cluster, MatchSettings, NotDuplicate, Scan


@pytest.fixture
def people(personas):
    """Three pairs of one person written twice, and unrelated people around them."""
    acme = make_account(name="Acme Ltd", domains=["acme.com"])
    pairs = [
        (
            make_contact(
                given_name="Robert",
                family_name="Smith",
                emails=["rsmith@acme.com"],
                phones=["+44 20 7946 0018"],
                account=acme,
            ),
            make_contact(
                given_name="Bob",
                family_name="Smith",
                emails=["bob.smith@gmail.com"],
                phones=["+44 (0)20 7946-0018"],
                account=acme,
            ),
        ),
        (
            make_contact(
                given_name="Elizabeth", family_name="Müller", emails=["e.mueller@globex.com"]
            ),
            make_contact(given_name="Liz", family_name="Mueller", emails=["e.mueller@globex.com"]),
        ),
        (
            make_contact(
                given_name="Jonathan", family_name="Okafor", emails=[], phones=["+2348031234567"]
            ),
            make_contact(
                given_name="Okafor", family_name="Jonathan", emails=[], phones=["+234 803 123 4567"]
            ),
        ),
    ]
    others = [
        make_contact(given_name=g, family_name=f)
        for g, f in [
            ("Ann", "Lee"),
            ("Mark", "Twain"),
            ("Sara", "Ng"),
            ("Tom", "Jones"),
            ("Anna", "Bell"),
        ]
    ]
    return pairs, others


@pytest.fixture
def run_scan(django_capture_on_commit_callbacks):
    def run(user, mode="full", kind="contact"):
        with django_capture_on_commit_callbacks(execute=True):
            scan = scans.scan_start(actor=actor(user), kind=kind, mode=mode)
        scan.refresh_from_db()
        return scan

    return run


def test_full_scan_finds_each_written_twice_person_and_groups_them(personas, people, run_scan):
    pairs, _ = people
    scan = run_scan(personas["stella"])
    assert scan.state == Scan.State.DONE, scan.error
    found = {(c.left_id, c.right_id) for c in Candidate.objects.filter(kind="contact")}
    for a, b in pairs:
        assert (min(a.pk, b.pk), max(a.pk, b.pk)) in found
    assert Cluster.objects.filter(kind="contact", status="open").count() >= 3
    # A handful of pairs says too little to estimate weights from: the model is not stored.
    assert MatchSettings.objects.get().contact_model is None


def test_the_fitted_model_is_stored_and_reused_by_the_check(
    personas, people, run_scan, monkeypatch
):
    from rapport.identity import scanjob

    monkeypatch.setattr(scanjob, "MIN_FIT_PAIRS", 1)
    run_scan(personas["stella"])
    stored = MatchSettings.objects.get().contact_model
    assert stored["fields"] == list(check.fields_of("contact")) and stored["iterations"] > 0
    assert check.current_model("contact").to_json() == stored


def test_a_pair_marked_not_duplicate_is_never_proposed_again(personas, people, run_scan):
    (a, b), *_ = people[0]
    run_scan(personas["stella"])
    services.not_duplicate_mark(
        actor=actor(personas["stella"]), kind="contact", record_ids=[a.pk, b.pk]
    )
    run_scan(personas["stella"])
    pair = Candidate.objects.get(kind="contact", left_id=min(a.pk, b.pk), right_id=max(a.pk, b.pk))
    assert pair.status == Candidate.Status.DISMISSED
    assert NotDuplicate.objects.filter(left_id=min(a.pk, b.pk)).exists()
    assert not check.similar_to_record(actor=personas["stella"], kind="contact", pk=a.pk) or all(
        m.record_id != b.pk
        for m in check.similar_to_record(actor=personas["stella"], kind="contact", pk=a.pk)
    )


def test_incremental_scan_compares_only_records_changed_since(personas, people, run_scan):
    run_scan(personas["stella"])
    before = set(Candidate.objects.values_list("left_id", "right_id"))
    newcomer = make_contact(given_name="Thomas", family_name="Jones", emails=[])
    scan = run_scan(personas["stella"], mode="incremental")
    assert scan.mode == "incremental" and scan.since is not None
    assert scan.records == 1  # only the new record was looked at
    after = set(Candidate.objects.values_list("left_id", "right_id"))
    assert before <= after
    assert any(newcomer.pk in pair for pair in after - before)


def test_check_before_create_finds_a_nickname_with_the_phone_in_another_format(personas, people):
    robert = people[0][0][0]
    # sam (contact center) sees every contact; a sales rep only their team's.
    assert (
        check.duplicates_check(
            actor=personas["bob"],
            kind="contact",
            data={
                "given_name": "Bobby",
                "family_name": "Smith",
                "phones": ["(020) 7946-0018"],
                "region": "GB",
            },
        )
        == []
    )
    matches = check.duplicates_check(
        actor=personas["sam"],
        kind="contact",
        data={
            "given_name": "Bobby",
            "family_name": "Smith",
            "phones": ["(020) 7946-0018"],
            "region": "GB",
        },
    )
    assert matches and matches[0].record_id in {robert.pk, people[0][0][1].pk}
    assert any("phone" in e.words for e in matches[0].evidence)
    assert (
        check.duplicates_check(
            actor=personas["bob"],
            kind="contact",
            data={"given_name": "Zed", "family_name": "Quark"},
        )
        == []
    )


def test_the_check_looks_up_a_record_with_one_name_by_that_name(personas):
    from rapport.identity.blocking import Person

    stored = make_contact(given_name="Margaret", family_name="Thornbury")
    make_contact(given_name="Margaret", family_name="Oyelaran")
    assert stored.pk in check.contact_ids_like(Person("", "Thornbury"))
    assert stored.pk in check.contact_ids_like(Person("Thornbury", ""))
    assert check.contact_ids_like(Person("", "Quark")) == set()


def test_account_check_ignores_legal_suffixes_and_free_mail(personas):
    acme = make_account(name="ACME, Inc.", domains=["acme.com"])
    matches = check.duplicates_check(
        actor=personas["alice"],
        kind="account",
        data={"name": "Acme Incorporated", "domains": ["acme.com"]},
    )
    assert [m.record_id for m in matches] == [acme.pk]
    make_account(name="Gmail users", domains=[])
    assert (
        check.duplicates_check(
            actor=personas["alice"],
            kind="account",
            data={"name": "Zeta Corp", "domains": ["gmail.com"]},
        )
        == []
    )


def test_account_scan_finds_a_company_written_two_ways(personas, run_scan):
    a = make_account(name="Globex Corporation", domains=["globex.com"], phone="+1 212 736 5000")
    b = make_account(name="GLOBEX Corp.", phone="+1 (212) 736-5000")
    make_account(name="Initech")
    scan = run_scan(personas["stella"], kind="account")
    assert scan.state == "done", scan.error
    assert Candidate.objects.filter(
        kind="account", left_id=min(a.pk, b.pk), right_id=max(a.pk, b.pk)
    ).exists()


def test_export_writes_the_pairs_with_external_ids(personas, people, tmp_path, run_scan):
    run_scan(personas["stella"])
    out = tmp_path / "pairs.csv"
    call_command("duplicates", "export", str(out))
    rows = list(csv.DictReader(out.open()))
    assert rows and {"left_id", "right_id", "probability", "left_external_ids"} <= set(rows[0])
    assert len(rows) == Candidate.objects.exclude(status="dismissed").count()


def test_scan_command_runs_in_process_and_reports(personas, people, capsys):
    call_command("duplicates", "scan", "--kind", "contact")
    assert "candidate pairs" in capsys.readouterr().out
    assert Scan.objects.get().state == Scan.State.DONE


def test_only_stewards_and_admins_start_scans(personas):
    from rapport.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        scans.scan_start(actor=actor(personas["bob"]), kind="contact")


def test_automatic_merging_is_off_by_default_and_merges_only_the_near_certain_when_on(
    personas, people, run_scan
):
    from rapport.customers.models import Contact
    from rapport.identity.models import Merge

    run_scan(personas["stella"])
    assert not Merge.objects.exists()  # off by default: everything waits for review
    conf = services.settings_get()
    services.settings_update(
        actor=actor(personas["alice"]),
        data={"auto_merge": True, "upper": 0.95},
        expected_version=conf.version,
    )
    scan = run_scan(personas["stella"])
    merged = list(Merge.objects.all())
    assert scan.auto_merged == len(merged) >= 1
    for merge in merged:
        assert merge.via == "automation"
        assert all(
            c.probability >= 0.95 for c in Candidate.objects.filter(kind="contact", status="merged")
        )
        assert not Contact.objects.filter(pk__in=merge.merged_ids).exists()
    assert Cluster.objects.filter(status="open").exists()  # the less certain ones still wait


def test_a_group_whose_record_was_deleted_since_the_scan_closes_itself(personas, people, run_scan):
    from rapport.core.errors import NotFound
    from rapport.customers import services as customer_services
    from rapport.customers.tests.factories import SYSTEM
    from rapport.identity import selectors

    (a, b), *_ = people[0]
    run_scan(personas["stella"])
    cluster = next(c for c in Cluster.objects.all() if a.pk in c.record_ids)
    customer_services.contact_delete(actor=SYSTEM, contact=b)
    with pytest.raises(NotFound):
        selectors.cluster_get(actor=personas["stella"], pk=cluster.pk)
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.DONE and cluster.record_ids == [a.pk]


def test_an_identifying_data_field_is_compared(personas):
    from rapport.customers.models import DataField

    DataField.objects.create(
        entity="contact",
        key="customer_no",
        label="Customer number",
        type="text",
        is_identifying=True,
    )
    stored = make_contact(
        given_name="Ann", family_name="Lee", emails=[], custom={"customer_no": "C-77"}
    )
    same = check.duplicates_check(
        actor=personas["alice"],
        kind="contact",
        data={"given_name": "Ann", "family_name": "Lee", "custom": {"customer_no": "C-77"}},
    )
    other = check.duplicates_check(
        actor=personas["alice"],
        kind="contact",
        data={"given_name": "Ann", "family_name": "Lee", "custom": {"customer_no": "C-78"}},
    )
    assert [m.record_id for m in same] == [stored.pk]
    identifier = next(e for e in same[0].evidence if e.field == "id:customer_no")
    assert identifier.weight > 0 and identifier.words == "same customer number"
    assert not other or other[0].probability < same[0].probability


def test_a_full_scan_asked_for_after_an_import_queued_an_incremental_one_is_full(
    personas, people, capsys
):
    # Nothing to compare since the last scan, so an incremental scan would compare none.
    call_command("duplicates", "scan")
    Candidate.objects.all().delete()
    queued = scans.scan_start(actor=actor(None), kind="contact", mode="incremental", enqueue=False)
    call_command("duplicates", "scan")
    queued.refresh_from_db()
    assert "(full)" in capsys.readouterr().out
    assert (queued.state, queued.mode) == (Scan.State.DONE, Scan.Mode.FULL)
    assert queued.records == 11 and Candidate.objects.exists()


def test_a_full_scan_is_refused_while_an_incremental_one_runs_and_not_answered_by_it(personas):
    from rapport.core.errors import Conflict

    running = Scan.objects.create(kind="contact", mode="incremental", state=Scan.State.RUNNING)
    running.heartbeat = running.created_at
    running.save()
    with pytest.raises(Conflict, match="running"):
        scans.scan_start(actor=actor(personas["stella"]), kind="contact", mode="full")
    incremental = scans.scan_start(
        actor=actor(personas["stella"]), kind="contact", mode="incremental"
    )
    assert incremental == running and Scan.objects.count() == 1


def test_a_scan_in_two_processes_compares_the_same_pairs_as_in_one():
    from rapport.identity.blocking import Person
    from rapport.identity.scan import scan_contacts

    people = [
        Person(
            g,
            f,
            (f"{g}.{f}@x.example.com".lower(),),
            (),
            "Acme",
            f"{i % 7} Main Road, Leeds LS1 4AP",
        )
        for i, (g, f) in enumerate(
            (g, f)
            for g in ("Ann", "Anne", "Bob", "Robert", "Tom")
            for f in ("Lee", "Leigh", "Smith")
        )
    ] * 3
    one, two = scan_contacts(people, processes=1), scan_contacts(people, processes=2)
    assert len(one) > 0

    def compared(result):
        return sorted((result.pairs[i], result.vector(i)) for i in range(len(result)))

    assert compared(one) == compared(two)
    assert set(one.timings) == {"blocks", "compare", "fit"}
