#!/usr/bin/env bash
# What the log extract's PDF (services/board/log_extract_pdf.py, WeasyPrint) and its tests need
# from Debian: Pango (WeasyPrint's text layout), the DejaVu fonts (every Swedish letter, embedded
# in the PDF) and poppler-utils (`pdftotext`, with which the tests read a PDF back).
#   deploy/pdf.sh            installs what is missing; idempotent, no prompts
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NEEDS="the log extract's PDF needs ${missing[*]}; install them with: apt-get update && apt-get install -y ${missing[*]}"
apt_install they "installing Debian's ${missing[*]} for the log extract's PDF" "${missing[@]}"
fc-list | grep -qi dejavu || fail "fonts-dejavu-core installed, but fontconfig lists no DejaVu font"
