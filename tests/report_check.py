#!/usr/bin/python3
"""Opens every page of a zf_report report in headless Chromium (Debian's chromium + chromedriver, driven
by python3-selenium) and checks: no severe console entry, every <img> loaded (naturalWidth > 0), every
local link resolves to an existing file, every page reachable from index.html, as many unit pages as
features in the run's zf_project / zf_evolve dumps, and no request that leaves the machine (every
resource the browser fetched and every src/href is file: or data:; the browser also runs with DNS
mapped to nowhere). Writes screenshots of index.html and of one unit page to SHOTS_DIR.
usage: report_check.py REPORT_DIR RUN_DIR SHOTS_DIR [--any-units]   exit 0: all passed, 1: a check failed
--any-units: skip the unit count (a run folder with broken dumps, which give no pages)
"""
import glob
import os
import sys
import tempfile
from urllib.parse import unquote, urlsplit

import h5py
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

report, run, shots = (os.path.abspath(a) for a in sys.argv[1:4])
any_units = "--any-units" in sys.argv[4:]
bad = []


def check(what, ok):
    if not ok:
        bad.append(what)
    return ok


def expected_units():
    """(layer, feature) pairs of the run's dumps: zf_project's <layer>.h5 and zf_evolve's."""
    units = set()
    for d in ("project", "evolve"):
        for path in glob.glob(os.path.join(run, d, "*.h5")):
            with h5py.File(path, "r") as f:
                if "feature_ids" in f and (d == "evolve" or "dataset" in f.attrs):
                    layer = f.attrs["layer"]
                    layer = layer.decode() if isinstance(layer, bytes) else layer
                    units |= {(layer, int(x)) for x in f["feature_ids"][()]}
    return units


PAGE_JS = """
const imgs = Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]);
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const refs = Array.from(document.querySelectorAll('[src],[href]'))
  .map(e => e.getAttribute('src') || e.getAttribute('href'));
const res = performance.getEntriesByType('resource').map(r => r.name);
return [imgs, links, refs, res, location.href];
"""


def local_path(url):
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme == "file" else None


def main():
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="zf_report_chrome.")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={profile}", "--window-size=1280,900", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--host-resolver-rules=MAP * ~NOTFOUND"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        seen, queue = set(), [os.path.join(report, "index.html")]
        unit_shot = None
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            rel = os.path.relpath(path, report)
            drv.get("file://" + path)
            imgs, links, refs, res, href = drv.execute_script(PAGE_JS)
            check(f"{rel}: landed on {href}", local_path(href) == path)
            for e in drv.get_log("browser"):
                check(f"{rel}: console {e['level']}: {e['message']}", e["level"] != "SEVERE")
            check(f"{rel}: no images", imgs or not rel.startswith("units/"))
            for src, complete, width in imgs:
                check(f"{rel}: image {src} not loaded (complete {complete}, naturalWidth {width})",
                      complete and width > 0)
            for url in res:
                check(f"{rel}: fetched {url}", urlsplit(url).scheme in ("file", "data"))
            for ref in refs:
                check(f"{rel}: refers to {ref} (outside the report folder's files)",
                      urlsplit(ref).scheme in ("", "file", "data"))
            for url in links:
                p = local_path(url)
                if not check(f"{rel}: link {url} is not a local file", p is not None):
                    continue
                if not check(f"{rel}: link {url} -> {p} missing", os.path.isfile(p)):
                    continue
                check(f"{rel}: link {url} leaves the report folder", p.startswith(report + os.sep))
                if p.endswith(".html") and p not in seen:
                    queue.append(p)
            if rel.startswith("units/") and (unit_shot is None or len(imgs) > unit_shot[1]):
                unit_shot = (path, len(imgs))  # the unit page with the most pictures
        pages = {os.path.join(dp, f) for dp, _, fs in os.walk(report) for f in fs if f.endswith(".html")}
        check(f"pages not reachable from index.html: {sorted(pages - seen)[:5]}", pages <= seen)
        units = {os.path.relpath(p, report) for p in pages if os.path.relpath(p, report).startswith("units/")}
        want = units if any_units else {f"units/{l}/{f}.html" for l, f in expected_units()}
        check(f"{len(units)} unit pages for {len(want)} features in the dumps; missing "
              f"{sorted(want - units)[:5]}, extra {sorted(units - want)[:5]}", units == want)
        # Screenshots: the whole height of each page (the window grown to it).
        unit_shot = unit_shot[0] if unit_shot else None
        for name, path in (("index", os.path.join(report, "index.html")), ("unit", unit_shot)):
            if path is None:
                continue
            drv.get("file://" + path)
            height = drv.execute_script("return document.documentElement.scrollHeight")
            drv.set_window_size(1280, min(max(900, height + 40), 6000))
            drv.save_screenshot(os.path.join(shots, f"report_{name}.png"))
            drv.set_window_size(1280, 900)
        print(f"checked {len(seen)} pages ({len(units)} unit pages) in Chromium; screenshots in {shots}: "
              f"report_index.png, report_unit.png ({os.path.relpath(unit_shot, report) if unit_shot else '-'})")
    finally:
        drv.quit()
    for b in bad[:40]:
        print("    ", b)
    if len(bad) > 40:
        print(f"     ... {len(bad) - 40} more")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
