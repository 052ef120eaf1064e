"""Headless Chromium for the dashboard's tests and bench: Debian's chromium driven through its
chromedriver by Selenium (no browser download). `find()` says why there is none, so tests can
skip with that reason."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def find() -> tuple[str, str] | str:
    """(browser, driver) paths, or the reason there is no usable browser."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[dev]')"
    browser = next((b for b in BROWSERS if Path(b).exists()), None) or shutil.which("chromium")
    driver = next((d for d in DRIVERS if Path(d).exists()), None) or shutil.which("chromedriver")
    if browser is None or driver is None:
        return "no Chromium with chromedriver (Debian: apt-get install chromium chromium-driver)"
    return browser, driver


def start(browser: str, driver: str, profile: Path | None = None) -> WebDriver:
    """A headless Chromium with a fresh profile, logging the page's console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    user_dir = profile or Path(tempfile.mkdtemp(prefix="zoro-chromium-"))
    options.add_argument(f"--user-data-dir={user_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """The console's errors since the last call (reading the log empties it)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
