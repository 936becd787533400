#!/usr/bin/env python3
"""Drives the cdc web UI in headless Chromium over the DevTools protocol, as a person would.

Usage: ui_check.py URL SCREENSHOT_PATH MIN_ROWS
  1. opens URL (the UI, with #token=… in the fragment), waits until the tables panel shows public.t with at least
     MIN_ROWS applied changes, prints "READY <count>";
  2. reads a line "MORE <n>" from stdin (the test wrote n more rows) and waits until the count reaches it;
  3. opens the newest event and checks the pretty-printed envelope is shown;
  4. clicks Pause and waits for PAUSED, clicks Resume and waits for RUNNING;
  5. saves a screenshot and prints "OK".
Exits non-zero with the reason on any failure (each wait is bounded).
"""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # pip: websocket-client

TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message):
    print(f"FAIL {message}", flush=True)
    sys.exit(1)


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})

    def eval(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            fail(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, what, expression):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.2)
        fail(f"timed out waiting for {what}")


def main():
    url, screenshot, min_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    chromium = os.environ.get("CHROMIUM", "chromium")
    port = free_port()
    profile = tempfile.mkdtemp()
    browser = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
         f"--user-data-dir={profile}", "--window-size=1280,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + TIMEOUT
        targets = None
        while time.time() < deadline:
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                if any(t["type"] == "page" for t in targets):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            fail("chromium did not start (apt package chromium; CHROMIUM=path to override)")
        page_target = next(t for t in targets if t["type"] == "page")
        page = Page(websocket.create_connection(page_target["webSocketDebuggerUrl"], timeout=TIMEOUT))
        page.call("Page.enable")
        page.call("Page.navigate", url=url)

        applied = ("(() => { const row = document.querySelector('#tables tr[data-table=\"public.t\"]');"
                   " return row ? Number(row.children[1].textContent) : 0; })()")
        count = page.wait(f"public.t with {min_rows} applied changes", f"{applied} >= {min_rows} && {applied}")
        print(f"READY {count}", flush=True)

        more = sys.stdin.readline().split()
        target = count + int(more[1])
        page.wait(f"the count to reach {target}", f"{applied} >= {target}")

        page.wait("recent events", "document.querySelectorAll('#events tr').length > 0")
        page.eval("document.querySelector('#events tr').click()")
        shown = page.wait("the event's envelope", "!document.getElementById('event').hidden && "
                          "document.getElementById('event').textContent")
        envelope = json.loads(shown)
        if envelope.get("table") != "public.t" or "op" not in envelope.get("value", {}):
            fail(f"the event view shows {shown[:200]}")

        state = "document.getElementById('state').textContent"
        page.eval("document.getElementById('pause').click()")
        page.wait("PAUSED", f"{state} === 'PAUSED'")
        page.eval("document.getElementById('resume').click()")
        page.wait("RUNNING", f"{state} === 'RUNNING'")

        # A last look with the event open, for a reviewer.
        page.eval("document.querySelector('#events tr').click()")
        png = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(png))
        print("OK", flush=True)
    finally:
        browser.kill()
        browser.wait()


if __name__ == "__main__":
    main()
