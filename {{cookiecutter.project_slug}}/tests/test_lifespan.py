"""What the lifespan does for the app's life, besides opening and closing the database."""

import gc

from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import serve


async def test_what_start_up_made_is_frozen_while_the_app_runs(settings: Settings) -> None:
    """Left out of the garbage collector's full passes while the app serves
    (docs/production.md), and given back to it at shutdown."""
    async with serve(settings) as client:
        assert (await client.get("/health")).status_code == 200
        assert gc.get_freeze_count() > 0

    assert gc.get_freeze_count() == 0
