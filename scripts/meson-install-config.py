#!/usr/bin/env python3
"""meson-install-config.py SOURCE DEST — meson install script for the config.

Copies SOURCE to DEST (an absolute path; under DESTDIR when one is given)
only when DEST does not exist yet, so that `meson install` never overwrites a
configuration the admin has edited. The new file is mode 0644 (the daemon's
user must read it; scripts/install narrows it to root:rtcbotd 0640).
"""

import os
import shutil
import sys


def destdir():
    """DESTDIR as meson applies it: MESON_INSTALL_DESTDIR_PREFIX is DESTDIR
    followed by the prefix, whichever way DESTDIR was given (environment or
    --destdir, relative or absolute)."""
    prefix = os.environ.get("MESON_INSTALL_PREFIX", "")
    destdir_prefix = os.environ.get("MESON_INSTALL_DESTDIR_PREFIX", prefix)
    if prefix and destdir_prefix.endswith(prefix):
        return destdir_prefix[: len(destdir_prefix) - len(prefix)]
    return os.environ.get("DESTDIR", "")


def main():
    if len(sys.argv) != 3 or not os.path.isabs(sys.argv[2]):
        sys.exit("usage: meson-install-config.py SOURCE /ABSOLUTE/DEST")
    source, dest = sys.argv[1], destdir() + sys.argv[2]
    quiet = bool(os.environ.get("MESON_INSTALL_QUIET"))
    if os.path.lexists(dest):
        if not quiet:
            print(f"Keeping existing {dest}")
        return
    if os.environ.get("MESON_INSTALL_DRY_RUN"):
        print(f"Would install {source} to {dest}")
        return
    os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
    shutil.copyfile(source, dest)
    os.chmod(dest, 0o644)
    if not quiet:
        print(f"Installing {source} to {dest}")


if __name__ == "__main__":
    main()
