#!/usr/bin/env bash
# Installs the peer (headroom-ai 0.42.0 from PyPI) into a venv under .tools/, once.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.tools/peer-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import headroom' 2>/dev/null; then
  echo "[bench] installing headroom-ai 0.42.0 into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check headroom-ai==0.42.0
fi
