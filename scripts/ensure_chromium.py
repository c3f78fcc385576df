#!/usr/bin/env python
"""Make sure Debian's chromium is installed for the browser tests (tests/browser).

Playwright's own browser download does not work on these machines, so the tests drive
/usr/bin/chromium. When it is missing, install the `chromium` package with apt-get (as
root, or through password-less sudo); otherwise say what to run and exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    print(f"[chromium] {message}", flush=True)


def apt_command() -> list[str] | None:
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return ["apt-get"]
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True).returncode == 0:
        return [sudo, "-n", "apt-get"]
    return None


def main() -> int:
    if CHROMIUM.exists():
        return 0
    apt = apt_command()
    if apt is None:
        say(f"{CHROMIUM} is missing: install Debian's chromium (sudo apt-get install chromium).")
        return 1
    say("installing Debian's chromium for the browser tests (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*apt, "install", "-y", "-q", "chromium"]
    if subprocess.run(install, env=env).returncode != 0:
        # A fresh machine may not have package lists yet.
        subprocess.run([*apt, "update", "-q"], env=env, check=False)
        if subprocess.run(install, env=env).returncode != 0:
            say("apt-get could not install chromium; see its output above.")
            return 1
    if not CHROMIUM.exists():
        say(f"the chromium package is installed but {CHROMIUM} is not there.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
