"""/docs (Swagger UI) and /redoc in real headless Chromium with every request off the service
refused: both pages show the API's operations from assets the service serves itself.

ReDoc's bundle draws a "powered by" logo from cdn.redoc.ly in its sidebar footer; offline that
one image is missing and nothing else is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # an <img> in ReDoc's own footer

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)

ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # No network but the loopback: anything else goes to a proxy that is not there.
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")],
    ids=["swagger-ui", "redoc"],
)
def test_api_docs_show_the_operations_offline(
    live_server: str, browser: Browser, path: str, ready: str
) -> None:
    own = urlsplit(live_server).netloc
    elsewhere: list[str] = []

    def only_the_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            if route.request.url != REDOC_LOGO:
                elsewhere.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    page = browser.new_page()
    page.route("**/*", only_the_service)
    page.goto(live_server + path)
    page.wait_for_selector(ready, timeout=30_000)
    text = page.inner_text("body")
    for operation in ("/v1/predict", "/v1/classify", "/v1/model"):
        assert operation in text, f"{operation} missing from {path}"
    assert elsewhere == [], f"{path} asked for assets elsewhere: {elsewhere}"
    page.close()
