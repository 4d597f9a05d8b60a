#!/usr/bin/env bash
# Create .venv with Python 3.11 and install wearforge with the given extras (default: standalone).
# Installs Debian/Ubuntu's libLLVM 15 when run as root, so Mitsuba gets its fast multi-core CPU variant;
# otherwise it says how, and wearforge falls back to the slower scalar variant.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-standalone}"

py="$(command -v python3.11 || command -v python3 || true)"
if [ -z "$py" ]; then
  echo "wearforge needs Python 3.11: apt-get install python3.11 python3.11-venv" >&2
  exit 1
fi
version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$version" != "3.11" ]; then
  echo "wearforge needs Python 3.11 (Isaac Sim 5 uses it too); $py is $version." >&2
  echo "Debian/Ubuntu: apt-get install python3.11 python3.11-venv, then run this again." >&2
  exit 1
fi

have_llvm() { compgen -G "/usr/lib/*/libLLVM-1[5-9]*.so*" >/dev/null || compgen -G "/usr/lib/llvm-1[5-9]/lib/libLLVM*.so*" >/dev/null; }
if ! have_llvm; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing libllvm15 for Mitsuba's LLVM variant"
    apt-get install -y -qq libllvm15 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libllvm15 >/dev/null; } \
      || echo "note: could not install libllvm15; rendering will use Mitsuba's scalar variant (slow)" >&2
  else
    echo "note: libLLVM 15 not found; rendering will use Mitsuba's scalar variant (slow)." >&2
    echo "      For the fast CPU path: sudo apt-get install libllvm15" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv || { echo "creating the virtual environment failed: apt-get install python3.11-venv" >&2; exit 1; }
fi
.venv/bin/python -m pip install -q --upgrade pip
case ",${extras}," in
  *,dev,*)
    # the tests run the README's torch DataLoader examples: the CPU wheel (~200 MB), not PyPI's CUDA build (GBs)
    .venv/bin/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu \
      || echo "note: could not install torch's CPU wheel; pip will take torch from PyPI" >&2 ;;
esac
.venv/bin/python -m pip install -q -e ".[${extras}]"
