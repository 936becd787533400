"""Runs a command with stdout and stderr on a pseudo-terminal (120x40), as a person at a terminal would see it.

usage: in_pty.py OUTPUT_FILE TIMEOUT_SECS -- COMMAND [ARGS...]

Everything the command wrote to the terminal is saved, raw (escape sequences included), in OUTPUT_FILE. Exits
with the command's status; kills it and exits 124 after TIMEOUT_SECS.
"""

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time


def main() -> int:
    output_file, timeout = sys.argv[1], float(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    captured = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            child.kill()
            child.wait()
            save(output_file, captured)
            return 124
        ready, _, _ = select.select([master], [], [], min(remaining, 1.0))
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                chunk = b""
            if not chunk:
                break
            captured += chunk
    save(output_file, captured)
    return child.wait()


def save(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    sys.exit(main())
