#!/usr/bin/env python
"""Make sure the binaries the test suite drives are installed: Debian's chromium (the
browser tests; playwright's own browser download does not work on these machines) and
redis-server (private servers the fault, lock and Cluster tests kill and hang).

A missing one is installed with apt-get (as root, or through password-less sudo);
otherwise this says what to install and exits non-zero. The tests themselves fail, not
skip, when one is missing, so a forgotten install step cannot hide behind a green run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# binary -> Debian package that provides it
REQUIRED = {"chromium": "chromium", "redis-server": "redis-server"}


def say(message: str) -> None:
    print(f"[test tools] {message}", flush=True)


def apt_command() -> list[str] | None:
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return ["apt-get"]
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True).returncode == 0:
        return [sudo, "-n", "apt-get"]
    return None


def missing() -> list[str]:
    return [package for binary, package in REQUIRED.items() if shutil.which(binary) is None]


def main() -> int:
    packages = missing()
    if not packages:
        return 0
    apt = apt_command()
    if apt is None:
        names = " ".join(packages)
        say(f"missing: {names}; install them: sudo apt-get install {names}")
        return 1
    say(f"installing {' '.join(packages)} for the test suite (apt-get install)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*apt, "install", "-y", "-q", *packages]
    if subprocess.run(install, env=env).returncode != 0:
        # A fresh machine may not have package lists yet.
        subprocess.run([*apt, "update", "-q"], env=env, check=False)
        if subprocess.run(install, env=env).returncode != 0:
            say("apt-get could not install them; see its output above.")
            return 1
    still = missing()
    if still:
        say(f"installed, but still not on PATH: {' '.join(still)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
