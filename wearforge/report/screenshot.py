"""Screenshots of a report page with a real headless browser (Chromium), for docs and checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first Chromium-family browser on PATH (Debian: apt-get install chromium), or None."""
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1200, browser: str | None = None,
               timeout: float = 120.0) -> Path:
    """Open ``page`` from disk in headless Chromium and save the first ``width`` x ``height`` pixels as PNG."""
    exe = browser or find_browser()
    if exe is None:
        raise FileNotFoundError("no Chromium-family browser on PATH (Debian: apt-get install chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--allow-file-access-from-files", f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
           page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not png.is_file():
        raise RuntimeError(f"{exe} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return png


def section_screenshots(report: dict, folder: Path, sections: dict[str, tuple[str, ...]], height: int = 1200,
                        width: int = 1280) -> list[Path]:
    """One screenshot per named group of report sections (rendered beside the report's index.html)."""
    from wearforge.report.html import write_html

    shots = []
    for name, parts in sections.items():
        page = folder / f"_shot_{name}.html"
        write_html(report, page, parts)
        try:
            shots.append(screenshot(page, folder / f"{name}.png", width, height))
        finally:
            page.unlink(missing_ok=True)
    return shots
