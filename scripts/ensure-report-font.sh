#!/usr/bin/env sh
# `ticketflow report` draws its charts with matplotlib and writes their text as SVG paths, so a
# report needs no font where it is read — but it needs a CJK font where it is made. Install
# Debian's WenQuanYi Micro Hei when no CJK font is found.
set -eu

for path in /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
            /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
            /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do
    [ -f "$path" ] && exit 0
done
if [ -n "${TICKETFLOW_REPORT_FONT:-}" ] && [ -f "$TICKETFLOW_REPORT_FONT" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ticketflow report needs a CJK font and cannot install one without root." >&2
    echo "Install it once with:  sudo apt-get install fonts-wqy-microhei" >&2
    echo "(or point TICKETFLOW_REPORT_FONT at a .ttf/.ttc/.otf font with Chinese glyphs)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ticketflow report needs a CJK font: install WenQuanYi Micro Hei or Noto Sans CJK with your" >&2
    echo "system's packages, or set TICKETFLOW_REPORT_FONT to a font file with Chinese glyphs." >&2
    exit 1
fi
echo "installing fonts-wqy-microhei (Chinese text in the report's charts) …"
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -q >/dev/null && \
       $SUDO apt-get install -y -q --no-install-recommends fonts-wqy-microhei >/dev/null; }; then
    echo "Installing fonts-wqy-microhei with apt-get failed; install it by hand." >&2
    exit 1
fi
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || {
    echo "fonts-wqy-microhei was installed but /usr/share/fonts/truetype/wqy/wqy-microhei.ttc is missing." >&2
    exit 1
}
