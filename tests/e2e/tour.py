"""The README tour's pictures, refreshed by one command (needs chromium, like the browser tests):

    python -m tests.e2e.tour

It runs the browser journeys on the full demo data (the 60 projects of `tracker serve --demo`), keeps the pages the
tour shows, cropped to the first screen and scaled down, in tests/e2e/tour/, and prints their sizes. Commit the
changed pictures with the change that changed the pages."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
TOUR = HERE / "tour"

# Screenshot (as the journeys name them) → the tour's file. Desktop pictures keep the first screen (1280×800),
# phone pictures the first screen of a 390×844 phone.
PICTURES = {
    "officer-dashboard-desktop": "1-officer-dashboard.png",
    "officer-guideline-preview-desktop": "2-guideline-preview.png",
    "officer-award-preview-desktop": "3-award-list-preview.png",
    "report-form-filled-phone": "4-grantee-report-phone.png",
    "report-review-desktop": "5-officer-review.png",
    "acceptance-check-form-desktop": "6-expert-check.png",
    "disbursement-detail-pending-desktop": "7-finance-disbursement.png",
    "admin-jobs-desktop": "8-admin-jobs.png",
    "officer-at-risk-phone": "9-at-risk-phone.png",
}
DESKTOP, PHONE = (1280, 800), (390, 844)
SCALE = {"desktop": 0.5, "phone": 0.6}


def shrink(source: Path, target: Path) -> None:
    kind = "phone" if source.stem.endswith("-phone") else "desktop"
    width, height = PHONE if kind == "phone" else DESKTOP
    with Image.open(source) as image:
        first_screen = image.convert("RGB").crop((0, 0, width, min(height, image.height)))
    size = (round(first_screen.width * SCALE[kind]), round(first_screen.height * SCALE[kind]))
    small = first_screen.resize(size, Image.Resampling.LANCZOS)
    small.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        shots = Path(folder)
        env = {**os.environ, "TRACKER_SCREENSHOTS": str(shots), "TRACKER_E2E_DEMO": "full"}
        journeys = [str(HERE / f"test_{role}_journey.py")
                    for role in ("officer", "report", "acceptance", "disbursement", "admin")]
        run = subprocess.run([sys.executable, "-m", "pytest", "-m", "browser", "-q", "-p", "no:cacheprovider",
                              *journeys], env=env, check=False)
        if run.returncode != 0:
            print("the journeys failed: the tour's pictures are left as they were", file=sys.stderr)
            return run.returncode
        missing = [name for name in PICTURES if not (shots / f"{name}.png").exists()]
        if missing:
            print(f"no screenshot for: {', '.join(missing)}", file=sys.stderr)
            return 1
        TOUR.mkdir(exist_ok=True)
        for name, file_name in PICTURES.items():
            shrink(shots / f"{name}.png", TOUR / file_name)
            print(f"{TOUR / file_name}: {(TOUR / file_name).stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
