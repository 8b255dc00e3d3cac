import pytest

from rapport.identity.blocking import Person, candidate_pairs, keys, soundex


@pytest.mark.parametrize(("name", "code"), [("Robert", "R163"), ("Rupert", "R163"), ("Tymczak", "T522"), ("Pfister", "P236"), ("Ashcraft", "A261"), ("Müller", "M460"), ("", "")])
def test_soundex_follows_the_standard(name, code):
    assert soundex(name) == code


def test_variants_of_one_person_share_a_key_and_strangers_do_not():
    ann = Person("Ann", "Lee", emails=("ann.lee+x@gmail.com",), phones=("+442079460958",), organisation="Acme Ltd")
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
    assert not any(k.startswith("email:") for k in keys(Person("Ann", "Lee", emails=("info@acme.example.com",))))


def test_pairs_come_from_shared_keys_and_oversized_blocks_are_skipped():
    people = [(1, Person("Ann", "Lee")), (2, Person("Anne", "Lea")), (3, Person("Bob", "Jones"))]
    assert candidate_pairs(people) == {(1, 2)}
    crowd = [(i, Person("John", "Smith")) for i in range(10)]
    assert candidate_pairs(crowd, max_block=5) == set()
