"""The `page` fixture: one headless Chromium per test module, on that module's `server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard import browser
from tests.dashboard.page import WAIT_S, Page
from zoro.testing import ServerProcess

FOUND = browser.find()


@pytest.fixture(scope="module")
def page(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    if isinstance(FOUND, str):
        pytest.skip(FOUND)
    driver = browser.start(*FOUND, profile=tmp_path_factory.mktemp("chromium-profile"))
    driver.set_script_timeout(WAIT_S)
    try:
        yield Page(driver, server.url)
    finally:
        driver.quit()
