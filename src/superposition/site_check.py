"""Open the results site in a real browser and check it works offline from file://.

``check_site`` loads ``results/index.html`` and every HTML page it links (the reports, the scorecard, the
Snakemake report) in Chromium through Playwright, and records what a user would hit: console errors, uncaught
exceptions, requests outside the results folder (all are blocked, so a CDN dependency shows as such), failed
requests, images without a natural size, and links to files that do not exist or anchors missing from their
page. It saves a full-page screenshot of the landing page. ``python -m superposition.site_check`` runs it;
the end-to-end tests call it on the smoke tier's results. Playwright's own browser download is not used: it
drives the system's Chromium (Debian's ``chromium``, installed by ``make setup``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["SiteCheck", "check_site", "find_chromium"]

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# JavaScript run in each page once it has loaded: images that did not decode, every link's target.
_IMAGES = "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
_LINKS = "Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
_IDS = "Array.from(document.querySelectorAll('[id]')).map(e => e.id)"
# MathJax 2 typesets after the load event: wait until its queue is empty (pages without MathJax pass at once).
_MATHJAX_DONE = ("() => !window.MathJax || !MathJax.Hub || "
                 "(MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running)")


@dataclass
class SiteCheck:
    """What the browser met, per problem kind; ``ok`` when every list is empty."""

    pages: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    images_checked: int = 0
    links_checked: int = 0
    typeset_formulas: int = 0

    @property
    def ok(self) -> bool:
        return not (self.console_errors or self.outside_requests or self.failed_requests or self.broken_images
                    or self.broken_links)

    def summary(self) -> str:
        problems = {name: getattr(self, name) for name in ("console_errors", "outside_requests", "failed_requests",
                                                           "broken_images", "broken_links")}
        lines = [f"{len(self.pages)} pages, {self.images_checked} images, {self.links_checked} links, "
                 f"{self.typeset_formulas} typeset formulas"]
        lines += [f"{name}: {items}" for name, items in problems.items() if items]
        return "\n".join(lines)


def find_chromium() -> str | None:
    """The system's Chromium executable, or None."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def check_site(index: Path, screenshot: Path | None = None, executable: str | None = None,
               timeout_ms: int = 60_000) -> SiteCheck:
    """Load ``index`` and every local HTML page it links in headless Chromium; return what went wrong.

    Requests outside ``index``'s folder are blocked and recorded; ``screenshot``: where to save a full-page PNG
    of ``index``.
    """
    from playwright.sync_api import sync_playwright

    root = index.resolve().parent
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("no chromium on PATH: `make setup` installs Debian's chromium (as root)")
    check = SiteCheck()

    def route(request_route, request) -> None:
        path = _local_path(request.url)
        if request.url.startswith("data:") or (path is not None and _inside(path, root)):
            request_route.continue_()
        else:
            check.outside_requests.append(request.url)
            request_route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda message: check.console_errors.append(f"{page.url}: {message.text}")
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: check.console_errors.append(f"{page.url}: {error}"))
            # Requests outside the results are recorded (and aborted) by the route above.
            page.on("requestfailed", lambda request: check.failed_requests.append(
                f"{request.url} ({request.failure})") if _local_path(request.url) is not None
                and _inside(_local_path(request.url), root) else None)
            pending, seen = [index.resolve()], set()
            while pending:
                current = pending.pop(0)
                if current in seen:
                    continue
                seen.add(current)
                page.goto(current.as_uri(), wait_until="load", timeout=timeout_ms)
                page.wait_for_function(_MATHJAX_DONE, timeout=timeout_ms)
                check.pages.append(current.relative_to(root).as_posix())
                check.typeset_formulas += page.evaluate("document.querySelectorAll('.MathJax_SVG').length")
                images = page.evaluate("document.images.length")
                check.images_checked += images
                check.broken_images += [f"{current.name}: {src}" for src in page.evaluate(_IMAGES)]
                ids = set(page.evaluate(_IDS))
                for href in page.evaluate(_LINKS):
                    check.links_checked += 1
                    target = _local_path(href)
                    fragment = urlsplit(href).fragment
                    if target is None:
                        if urlsplit(href).scheme not in ("mailto",):
                            check.broken_links.append(f"{current.name}: {href} (outside the results)")
                        continue
                    if not target.exists() or not _inside(target, root):
                        check.broken_links.append(f"{current.name}: {href}")
                    elif target.resolve() == current and fragment and fragment not in ids:
                        check.broken_links.append(f"{current.name}: #{fragment} (no such anchor)")
                    elif target.suffix == ".html" and current == index.resolve():
                        pending.append(target.resolve())
                if current == index.resolve() and screenshot is not None:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return check


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.site_check [results/index.html] [--screenshot PNG]`: check the site offline."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("index", nargs="?", default="results/index.html", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--chromium", default=None, help="browser executable (default: chromium on PATH)")
    args = parser.parse_args(argv)
    check = check_site(args.index, args.screenshot, args.chromium)
    print(check.summary())
    sys.exit(0 if check.ok else 1)


if __name__ == "__main__":
    main()
