"""A throw-away Dovecot IMAP server on a free 127.0.0.1 port: its own config, state and
Maildir under a temporary directory; not the system service. `make test` installs Dovecot
(scripts/ensure-test-tools.sh) when it is missing."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from streams.transport.broker import free_port

USER, PASSWORD = "support", "support-password"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None)


@dataclass
class Dovecot:
    process: subprocess.Popen
    port: int
    directory: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _users() -> tuple[str, str, str]:
    """(internal user, login user, mail user): Dovecot refuses root for its login processes."""
    if os.geteuid() == 0:
        for name in ("dovecot", "dovenull"):
            pwd.getpwnam(name)  # created by the Debian package
        return "dovecot", "dovenull", "dovecot"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, me, me


def start_dovecot(directory: Path) -> Dovecot:
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError(
            "dovecot is not installed: run `make test` (it installs dovecot-imapd) or `apt-get install dovecot-imapd`"
        )
    internal, login, mail_user = _users()
    port = free_port()
    for sub in ("run", "state", "mail"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o755)
    (directory / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (directory / "dovecot.conf").write_text(f"""
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = ticketflow-test-{uuid.uuid4().hex[:8]}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {directory}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{directory}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={directory}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
    shutil.chown(directory / "mail", mail_user, mail_user)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(directory / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=open(directory / "stderr.log", "wb"),
    )  # noqa: SIM115
    server = Dovecot(process, port, directory)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {(directory / 'stderr.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"dovecot did not answer on port {port}")
