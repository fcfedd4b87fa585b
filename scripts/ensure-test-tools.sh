#!/usr/bin/env sh
# The test suite runs its own throw-away Dovecot IMAP server on 127.0.0.1 (tests/gateway/dovecot.py)
# to test the IMAP poller against the real thing. Install Debian's Dovecot when it is missing.
set -eu

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "The tests need Dovecot (IMAP server) and cannot install it without root." >&2
    echo "Install it once with:  sudo apt-get install dovecot-imapd" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need Dovecot (IMAP server); install the dovecot-imapd package of your system." >&2
    exit 1
fi
echo "installing dovecot-imapd (for the IMAP poller tests) …"
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -q >/dev/null && \
       $SUDO apt-get install -y -q --no-install-recommends dovecot-imapd >/dev/null; }; then
    echo "Installing dovecot-imapd with apt-get failed; install it by hand and run make test again." >&2
    exit 1
fi
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || {
    echo "dovecot-imapd was installed but no dovecot binary was found." >&2
    exit 1
}
