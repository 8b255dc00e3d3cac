import pytest

from rapport.identity.blocking import (
    WINDOW,
    Organisation,
    Person,
    account_candidate_pairs,
    account_keys,
    candidate_pairs,
    iter_candidate_pairs,
    keys,
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


def test_pairs_come_from_shared_keys_and_a_large_name_block_compares_neighbours_only():
    people = [(1, Person("Ann", "Lee")), (2, Person("Anne", "Lea")), (3, Person("Bob", "Jones"))]
    assert candidate_pairs(people) == {(1, 2)}
    # 60 people named J… Smith: not all 1,770 pairs, each with its nearest neighbours in two
    # orders, and the typo pair among them sorts together.
    crowd = [(i, Person(f"J{chr(97 + i % 26)}{chr(97 + i // 26)}n", "Smith")) for i in range(60)]
    crowd += [(100, Person("Jonathan", "Smith")), (101, Person("Jonathan", "Smiht"))]
    pairs = candidate_pairs(crowd)
    assert (100, 101) in pairs
    assert len(pairs) <= len(crowd) * WINDOW * 2 < len(crowd) * (len(crowd) - 1) // 2


def test_an_oversized_exact_block_is_skipped():
    # Twelve people share one phone (a switchboard) and nothing else.
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
    assert not list(iter_candidate_pairs(crowd, max_block=5))
    assert len(list(iter_candidate_pairs(crowd, max_block=20))) == 66


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
    # A pair shares exact keys once; only a swapped pair, which shares both name keys, may
    # come from both name blocks (the scan keeps it once).
    assert streamed.count((0, 1)) == 1
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
