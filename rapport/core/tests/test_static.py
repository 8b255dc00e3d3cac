"""The production static storage can collect every asset the app ships.

The manifest storage rewrites each reference inside CSS and JS; a reference to a file that is
not shipped (a vendored library's source map, say) makes `collectstatic` fail, and with it
`rapport up` on a production configuration.
"""

from django.core.management import call_command


def test_collectstatic_with_the_manifest_storage_finds_every_file_a_shipped_asset_names(
    settings, tmp_path
):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/chart.umd.min.*.js"))
