"""Take the README's screenshot (docs/screenshot.png) from a running server, as a user
sees it: a question, its streamed answer from the configured model, a cited passage open.

    make run                                   # the real model, in another terminal
    .venv/bin/python scripts/screenshot.py     # or: URL QUESTION [FOLLOW-UP]

Needs Chromium at /usr/bin/chromium (`apt-get install chromium`), as the browser tests do.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"
QUESTION = "外挂知识库的具体流程是什么？"
SECOND = "微调有哪几种方法？"


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    questions = sys.argv[2:] or [QUESTION, SECOND]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True
        )
        page = browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 800}
        ).new_page()
        page.goto(url)
        page.wait_for_selector("#kb-list .doc", state="attached")
        done = page.locator("#conversation .msg--assistant[aria-busy=false]")
        for n, question in enumerate(questions, 1):
            page.fill("#question", question)
            page.press("#question", "Enter")
            expect(done).to_have_count(n, timeout=600_000)  # a CPU model takes its time
        cite = page.locator("#conversation button.cite").first
        if cite.count():
            cite.click()
            page.wait_for_timeout(500)  # the passage in its document
        OUT.parent.mkdir(exist_ok=True)
        page.screenshot(path=OUT, animations="disabled")
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
