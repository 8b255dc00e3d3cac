import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.identity.blocking import (
    Organisation,
    Person,
    account_candidate_pairs,
    account_keys,
    candidate_pairs,
    identifier_key,
    iter_candidate_pairs,
    keys,
    plan,
    soundex,
)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Robert", "R163"),
        ("Rupert", "R163"),
        ("Tymczak", "T522"),
        ("Pfister", "P236"),
        ("Ashcraft", "A261"),
        ("Müller", "M460"),
        ("", ""),
    ],
)
def test_soundex_follows_the_standard(name, code):
    assert soundex(name) == code


def test_variants_of_one_person_share_a_key_and_strangers_do_not():
    ann = Person(
        "Ann",
        "Lee",
        emails=("ann.lee+x@gmail.com",),
        phones=("+442079460958",),
        organisation="Acme Ltd",
    )
    variants = [
        Person("Anne", "Lea"),  # typos
        Person("Lee", "Ann"),  # swapped
        Person("A.", "Leigh", emails=("annlee@googlemail.com",)),  # another form of the address
        Person("Annie", "Smith", phones=("+4402079460958",)),  # married name, same phone
        Person("Anna", "Lee", organisation="ACME Limited"),
    ]
    for v in variants:
        assert keys(ann) & keys(v), v
    assert not keys(ann) & keys(Person("Bob", "Jones", emails=("bob@x.example.com",)))


def test_team_mailboxes_do_not_block():
    assert not any(
        k.startswith("email:")
        for k in keys(Person("Ann", "Lee", emails=("info@acme.example.com",)))
    )


def test_pairs_come_from_shared_keys_and_a_large_name_block_is_split_by_given_name():
    people = [(1, Person("Ann", "Lee")), (2, Person("Anne", "Lea")), (3, Person("Bob", "Jones"))]
    assert candidate_pairs(people) == {(1, 2)}
    # 60 people named J… Smith, over a block of 20: not all 1,830 pairs, but split by the
    # given name's code, so the typo pair among them is compared.
    crowd = [(i, Person(f"J{chr(97 + i % 26)}{chr(97 + i // 26)}n", "Smith")) for i in range(60)]
    crowd += [(100, Person("Jonathan", "Smith")), (101, Person("Jonathan", "Smiht"))]
    pairs = candidate_pairs(crowd, max_block=20)
    assert (100, 101) in pairs
    assert len(pairs) < len(crowd) * (len(crowd) - 1) // 4


def test_every_pair_of_an_entity_written_twenty_times_is_compared():
    # One person written 20 times (typos and all), among 25 namesakes: the window of the
    # sorted-neighbourhood method compared each record with its 3 neighbours only.
    entity = [Person(g, "Smith") for g in ["John", "Jon", "J.", "Jonh", "Johnny"] * 4]
    namesakes = [Person(g, "Smith") for g in ["James", "Jane", "Jim", "Joan", "Judy"] * 5]
    pairs = set(iter_candidate_pairs(entity + namesakes))
    assert set(itertools.combinations(range(20), 2)) <= pairs


def test_an_oversized_exact_block_is_split_by_the_names():
    # Twelve people share one phone (a switchboard): over max_block, only those sharing a
    # name's code or initial are compared.
    names = [
        "Ann Lee",
        "Bob Marsh",
        "Cy Dunn",
        "Di Fox",
        "Ed Gray",
        "Flo Hill",
        "Gus Ives",
        "Hal Kemp",
        "Ivy Lund",
        "Jo Moss",
        "Kit Nash",
        "Lu Ortiz",
    ]
    crowd = [Person(*n.split(), phones=("+442079460958",)) for n in names]
    crowd.append(Person("Anne", "Leigh", phones=("+442079460958",)))
    split = set(iter_candidate_pairs(crowd, max_block=5))
    assert (0, 12) in split
    assert len(split) < 20
    assert len(list(iter_candidate_pairs(crowd, max_block=20))) == 78


def test_a_name_left_empty_on_one_side_still_meets_the_full_record():
    full = Person("Margaret", "Thornbury")
    assert (0, 1) in set(iter_candidate_pairs([full, Person("", "Thornbury")]))
    assert (0, 1) in set(iter_candidate_pairs([full, Person("Margaret", "")]))
    # Swapped into the other field too.
    assert (0, 1) in set(iter_candidate_pairs([full, Person("Thornbury", "")]))
    # Two records with full names that share only a given name are not compared for it.
    assert not list(iter_candidate_pairs([full, Person("Margaret", "Oyelaran")]))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("William", "Hargreaves"), ("Bill", "Hargreaves")),  # nickname, other initial
        (("Richard", "Hargreaves"), ("Dick", "Hargreaves")),
        (("Catherine", "Hargreaves"), ("Katherine", "Hargreaves")),  # first-letter slip
        (("John", "Duncan"), ("John", "Dunfan")),  # the family name's code changes
        (("John", "Smith"), ("John", "Xmith")),  # its first letter too
        (("Richard", "Lee"), ("Richard", "Mee")),  # in a short name
        (("Mary", "Smith"), ("Molly", "Scith")),  # nickname and typo
    ],
)
def test_name_variants_the_phonetic_key_misses_share_another_rule(a, b):
    x, y = Person(*a), Person(*b)
    assert soundex(x.family) != soundex(y.family) or x.given[0] != y.given[0]
    assert keys(x) & keys(y)


def test_identifying_values_and_addresses_are_keys_when_both_names_changed():
    def meet(x: Person, y: Person) -> bool:
        return (0, 1) in set(iter_candidate_pairs([x, y]))

    # A date of birth written three ways, day and month either way round, with the same
    # postcode (another house): a date alone is shared by strangers, so it needs a second key.
    for written in ("19800102", "02/01/1980", "1980-02-01"):
        assert meet(
            Person("Ann", "Lee", "", (), "", "3 Main Road, Leeds LS1 4AP", ("dob=1980-01-02",)),
            Person("Joan", "Marsh", "", (), "", "40 Park Lane, Leeds LS1 4AP", (f"dob={written}",)),
        ), written
    assert not meet(
        Person("Ann", "Lee", identifiers=("dob=1980-01-02",)),
        Person("Tom", "Marsh", identifiers=("dob=1980-01-02",)),
    )
    assert identifier_key("customer_no= 47-11 ") == "customer_no=4711"
    assert meet(
        Person("Ann", "Lee", identifiers=("customer_no=4711",)),
        Person("Joan", "Marsh", identifiers=("customer_no=47 11",)),
    )
    # Postcode and house number; the street and number without the postcode.
    assert meet(
        Person("Ann", "Lee", address="12 High Street, London SW1A 1AA"),
        Person("Joan", "Marsh", address="12 HIGH ST.\nLONDON\nSW1A1AA"),
    )
    assert meet(
        Person("Ann", "Lee", address="12 Thornbury Road, Leeds LS1 4AP"),
        Person("Joan", "Marsh", address="12 Thornbury Rd, Leeds"),
    )
    assert not meet(
        Person("Ann", "Lee", identifiers=("dob=1980-01-02",)),
        Person("Joan", "Marsh", identifiers=("dob=1981-01-02",)),
    )


def _meet(x: Person, y: Person) -> bool:
    return (0, 1) in set(iter_candidate_pairs([x, y]))


def test_a_customer_number_is_never_read_as_a_date():
    # Seven digits matched the date pattern (5688-23-5): one number keyed as a date needed
    # a second key, so two records of one customer number with different names never met.
    assert identifier_key("customer_no=5688235") == "customer_no=5688235"
    assert identifier_key("id:ref=19800102") == "id:ref=19800102"  # typed: not a date
    assert identifier_key("date:dob=19800102") == "date:dob=1980-01-02"
    assert _meet(
        Person("", "Farrsll", identifiers=("customer_no=5688235",)),
        Person("Tracy", "Farrell", identifiers=("customer_no=5688235",)),
    )


def test_identifiers_one_slip_apart_meet_and_far_ones_do_not():
    for other in ("7706350", "7706325", "770635", "77063522"):  # changed, swapped, dropped, added
        assert _meet(
            Person("Parrish", "", identifiers=("customer_no=7706352",)),
            Person("", "Elizabeth", identifiers=(f"customer_no={other}",)),
        ), other
    assert not _meet(
        Person("Parrish", "", identifiers=("customer_no=7706352",)),
        Person("", "Elizabeth", identifiers=("customer_no=7703325",)),
    )
    # Short codes are too dense for this: a slip there is another customer.
    assert not _meet(
        Person("Ann", "Lee", identifiers=("ref=4711",)),
        Person("Tom", "Marsh", identifiers=("ref=4712",)),
    )


def test_a_date_of_birth_meets_with_a_name_in_the_other_field():
    # Given and family names swapped, one of them mistyped: the date with either name's
    # initial is a key.
    assert _meet(
        Person("Tracy", "Blair", identifiers=("dob=1953-07-10",)),
        Person("Blair", "Bracy", identifiers=("dob=1953-07-10",)),
    )
    assert _meet(
        Person("", "Jill", identifiers=("dob=1970-08-20",)),
        Person("Jlil", "Mcintyre", identifiers=("dob=1970-08-20",)),
    )


_names = st.sampled_from(["Ann", "Anne", "Bob", "Robert", "Lee", "Leigh", "", "Smith", "Ng"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.builds(
            Person,
            _names,
            _names,
            emails=st.sampled_from([(), ("a@x.example.com",), ("b@x.example.com",)]),
            phones=st.sampled_from([(), ("+442079460958",)]),
            address=st.sampled_from(["", "1 Main Road, Leeds LS1 4AP", "1 Main Rd, Leeds"]),
            identifiers=st.sampled_from([(), ("dob=1980-01-02",), ("dob=02/01/1980",)]),
        ),
        max_size=40,
    ),
    st.sampled_from([3, 6, 50]),
)
def test_each_pair_sharing_a_block_is_produced_exactly_once(people, max_block):
    blocks = plan(people, max_block=max_block)
    streamed = list(blocks.pairs())
    assert len(streamed) == len(set(streamed))
    expected = set()
    for k in range(len(blocks)):
        members = list(blocks.members[blocks.starts[k] : blocks.starts[k + 1]])
        opened = blocks.open_count[k]
        for x in range(opened):
            for y in range(x + 1, len(members)):
                a, b = members[x], members[y]
                if a != b:
                    expected.add((min(a, b), max(a, b)))
    assert set(streamed) == expected
    assert all(blocks.rules_shared(a, b) for a, b in streamed)
    assert sum(blocks.produced) == len(streamed)
    # Streamed a range of blocks at a time (as the scan's workers do): the same pairs.
    pieces = [p for span in blocks.ranges(7) for p in blocks.pairs(*span)]
    assert pieces == streamed


def test_a_pair_sharing_several_keys_streams_once_and_matches_the_set():
    people = [
        Person(
            "Ann",
            "Lee",
            emails=("ann.lee@acme.example.com",),
            phones=("+442079460958",),
            organisation="Acme",
        ),
        Person(
            "Anne",
            "Lee",
            emails=("ann.lee@acme.example.com",),
            phones=("+442079460958",),
            organisation="Acme Ltd",
        ),
        Person("Lee", "Ann"),
        Person("Bob", "Jones"),
    ]
    streamed = list(iter_candidate_pairs(people))
    # Each pair once, however many keys it shares (e-mail, phone, employer, names).
    assert len(streamed) == len(set(streamed))
    assert set(streamed) == candidate_pairs(enumerate(people)) == {(0, 1), (0, 2), (1, 2)}


def test_a_pair_whose_first_shared_key_is_oversized_still_comes_from_the_next():
    # Twelve people share one phone (a switchboard): that block is skipped, but two of them
    # also share a name key and must still be compared.
    crowd = [Person(f"P{i}x", f"Q{i}y", phones=("+442079460958",)) for i in range(12)]
    crowd += [
        Person("Ann", "Lee", phones=("+442079460958",)),
        Person("Anne", "Lee", phones=("+442079460958",)),
    ]
    assert (12, 13) in set(iter_candidate_pairs(crowd, max_block=5))


def test_person_takes_address_and_identifiers_and_is_frozen_with_slots():
    p = Person("Ann", "Lee", address="1 Main Road, Leeds LS1 4AP", identifiers=("vat=GB1",))
    assert p.address and p.identifiers == ("vat=GB1",)
    assert not hasattr(p, "__dict__")
    with pytest.raises(AttributeError):
        p.given = "Bob"  # type: ignore[misc]


def test_accounts_block_on_domain_name_phone_and_address_but_never_free_mail():
    acme = Organisation("ACME, Inc.", domains=("www.acme.example.com", "gmail.com"))
    assert not any("gmail" in k for k in account_keys(acme))
    orgs = [
        (1, acme),
        (2, Organisation("Acme Incorporated")),  # the name written another way
        (
            3,
            Organisation("Initech", domains=("mail.acme.example.com",)),
        ),  # the same registered domain
        (4, Organisation("Globex", domains=("gmail.com",), phones=("+442079460958",))),
        (5, Organisation("Umbrella", domains=("gmail.com",), address="1 Main Road, Leeds LS1 4AP")),
        (6, Organisation("Hooli", phones=("+4402079460958",), address="1 Main Rd, Leeds LS14AP")),
    ]
    assert account_candidate_pairs(orgs) == {(1, 2), (1, 3), (4, 6), (5, 6)}


def test_rules_planned_in_two_processes_make_the_same_blocks(monkeypatch):
    from rapport.identity import blocking

    monkeypatch.setattr(blocking, "PARALLEL_FROM", 0)
    people = [
        Person(
            g,
            f,
            (f"{g}@x.example.com",) if i % 3 else (),
            (),
            "",
            f"{i % 4} Main Road, Leeds LS1 4AP",
        )
        for i, (g, f) in enumerate(
            itertools.product(["Ann", "Anne", "Bob", "Robert", ""], ["Lee", "Leigh", "", "Smith"])
        )
    ] * 2
    one, two = plan(people), plan(people, processes=2)
    assert len(one) > 0
    for name in ("starts", "members", "open_count", "rule_of", "record_starts", "record_blocks"):
        assert getattr(one, name) == getattr(two, name), name
    assert (one.oversized, one.skipped) == (two.oversized, two.skipped)
