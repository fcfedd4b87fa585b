#!/usr/bin/env sh
# System tools the test suite runs for real, installed from Debian's packages when missing:
#   - Dovecot (dovecot-imapd): a throw-away IMAP server on 127.0.0.1 (tests/gateway/dovecot.py)
#     to test the IMAP poller against the real thing;
#   - Prometheus (prometheus): `promtool check rules` / `promtool test rules` on the alert rules
#     in deploy/prometheus (tests/deploy/test_alert_rules.py), and the Prometheus server that
#     the alerting integration test runs against a live stack;
#   - chromium: a headless browser for the live board's page (tests/integration/test_board.py),
#     with a CJK font (fonts-wqy-microhei) so that its screenshots show the page's Chinese labels.
set -eu

have_dovecot() { command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; }
have_prometheus() { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

missing=""
have_dovecot || missing="$missing dovecot-imapd"
have_prometheus || missing="$missing prometheus"
have_chromium || missing="$missing chromium fonts-wqy-microhei"
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "The tests need these packages and cannot install them without root:$missing" >&2
    echo "Install them once with:  sudo apt-get install$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need these packages; install them with the package manager of your system:$missing" >&2
    exit 1
fi
echo "installing$missing (test tools: IMAP server, Prometheus and promtool, headless browser) …"
export DEBIAN_FRONTEND=noninteractive
# The prometheus package would start its own server as a service; tests start theirs.
policy_rc=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy_rc=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy_rc" >/dev/null
    $SUDO chmod +x "$policy_rc"
fi
# shellcheck disable=SC2086  # $missing is a list of package names
if ! { $SUDO apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null && \
       $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing >/dev/null; }; then
    [ -z "$policy_rc" ] || $SUDO rm -f "$policy_rc"
    echo "Installing$missing with apt-get failed; install by hand and run make test again." >&2
    exit 1
fi
[ -z "$policy_rc" ] || $SUDO rm -f "$policy_rc"
have_dovecot || {
    echo "dovecot-imapd was installed but no dovecot binary was found." >&2
    exit 1
}
have_prometheus || {
    echo "prometheus was installed but promtool or the prometheus binary was not found." >&2
    exit 1
}
have_chromium || {
    echo "chromium was installed but no chromium binary was found." >&2
    exit 1
}
