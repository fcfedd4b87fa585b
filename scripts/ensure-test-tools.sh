#!/usr/bin/env sh
# Programs the test suite runs for real, installed from Debian's packages when missing:
# - Dovecot: a throw-away IMAP server on 127.0.0.1 for the IMAP poller (tests/gateway/dovecot.py);
# - chromium: a headless browser for the live board's page (tests/integration/test_board.py),
#   with a CJK font so that its screenshots show the page's Chinese labels.
set -eu

has_dovecot() { command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; }
has_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

missing=""
has_dovecot || missing="$missing dovecot-imapd"
has_chromium || missing="$missing chromium fonts-wqy-microhei"
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "The tests need:$missing (IMAP server, headless browser) and cannot install them without root." >&2
    echo "Install them once with:  sudo apt-get install$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need:$missing; install these packages (or your system's equivalents) by hand." >&2
    exit 1
fi
echo "installing$missing (for the IMAP poller and live board tests) …"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # one word per package
if ! { $SUDO apt-get update -q >/dev/null && \
       $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null; }; then
    echo "Installing$missing with apt-get failed; install by hand and run make test again." >&2
    exit 1
fi
has_dovecot || { echo "dovecot-imapd was installed but no dovecot binary was found." >&2; exit 1; }
has_chromium || { echo "chromium was installed but no chromium binary was found." >&2; exit 1; }
