import pytest

from rapport.ingest.imports.mapping import suggest_mapping


def _targets(headers, **kw):
    return {s.header: s.target for s in suggest_mapping(headers, **kw)}


def test_an_export_from_another_crm_maps_without_help():
    headers = ["First Name", "Last Name", "Email Address", "Mobile Phone", "Company", "Job Title", "Zip Code", "Country"]
    assert _targets(headers) == {
        "First Name": "given_name",
        "Last Name": "family_name",
        "Email Address": "email",
        "Mobile Phone": "mobile",
        "Company": "account.name",
        "Job Title": "job_title",
        "Zip Code": "postal_code",
        "Country": "country",
    }


@pytest.mark.parametrize(
    ("header", "target"),
    [("Prénom", "given_name"), ("Nachname", "family_name"), ("E-Mail", "email"), ("Téléphone", "phone"),
     ("Código postal", "postal_code"), ("Société", "account.name"), ("Straße", "street")],
)
def test_headers_in_other_languages_and_with_accents_are_understood(header, target):
    assert _targets([header])[header] == target


def test_a_typo_in_a_header_is_matched_and_says_so():
    [suggestion] = suggest_mapping(["Emial Adress"])
    assert (suggestion.target, suggestion.how) == ("email", "close spelling")


def test_data_dictionary_fields_match_by_key_or_label():
    result = suggest_mapping(["Customer tier", "nps_score"], datafields={"tier": "Customer tier", "nps_score": "NPS"})
    assert [(s.target, s.how) for s in result] == [("custom.tier", "data dictionary"), ("custom.nps_score", "data dictionary")]


def test_a_target_is_used_once_and_unknown_headers_stay_unmapped():
    result = suggest_mapping(["Email", "E-mail", "Favourite colour"])
    assert [(s.target, s.how) for s in result] == [("email", "name"), (None, "already mapped"), (None, "no match")]
