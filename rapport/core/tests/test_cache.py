from rapport.core import cache
from rapport.customers.datadict import active_fields
from rapport.customers.models import DataField


def test_cached_values_are_reused_until_cleared(settings):
    settings.PROCESS_CACHE_SECONDS = 60
    cache.clear()
    calls = []
    assert cache.cached("k", lambda: calls.append(1) or len(calls)) == 1
    assert cache.cached("k", lambda: calls.append(1) or len(calls)) == 1
    cache.clear()
    assert cache.cached("k", lambda: calls.append(1) or len(calls)) == 2


def test_a_new_data_field_is_seen_at_once_in_this_process(settings, alice, django_capture_on_commit_callbacks):
    from conftest import actor
    from rapport.customers import services

    settings.PROCESS_CACHE_SECONDS = 60
    cache.clear()
    assert active_fields("contact") == []
    with django_capture_on_commit_callbacks(execute=True):
        services.datafield_create(actor=actor(alice), data={"entity": "contact", "key": "nps", "label": "NPS", "type": "number"})
    assert [df.key for df in active_fields("contact")] == ["nps"]
    DataField.objects.all().delete()
    cache.clear()
