"""The dashboard's browser tests' helpers: a page in headless Chromium with waits that end,
screenshots into tests/dashboard/artifacts/ (git-ignored), and the console checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.dashboard import browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT_S = 15.0


class Page:
    """The browser, with waits that end (WAIT_S) and a console check after each step."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        self.url = url
        ARTIFACTS.mkdir(exist_ok=True)

    def go(self, fragment: str) -> None:
        self.driver.get(f"{self.url}/dashboard/#/{fragment}")

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_S).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css))
        )

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def until(self, check: Any, what: str) -> Any:
        """Wait for `check()` to be true, looking again at elements a page has redrawn."""
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        wait = WebDriverWait(
            self.driver,
            WAIT_S,
            ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
        )
        return wait.until(lambda _d: check(), message=what)

    def text(self, css: str, pattern: str) -> str:
        """Wait until the element's text matches `pattern`; returns the text."""
        from selenium.webdriver.common.by import By

        def matched() -> str | None:
            text = str(self.driver.find_element(By.CSS_SELECTOR, css).text)
            return text if re.search(pattern, text) else None

        found: str = self.until(matched, f"{css} ~ {pattern!r}")
        return found

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def console_clean(self, *allowed: str) -> None:
        """No console error but those matching one of `allowed` (a refusal provoked on
        purpose, which Chromium reports as "Failed to load resource")."""
        errors = browser.console_errors(self.driver)
        unexpected = [e for e in errors if not any(re.search(a, e["message"]) for a in allowed)]
        assert not unexpected, unexpected

    def module(self, script: str) -> Any:
        """Run `script` (an async function body given `m`, the imported module map) in the
        page; returns what it returns."""
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "(async () => { " + script + " })().then(done, (e) => done('error: ' + e));"
        )
