#!/usr/bin/env bash
# Create .venv with Python 3.11 or newer and install wearforge with the given extras (default: standalone).
# Python 3.11 is preferred when present (Isaac Sim 5 runs it, and CI tests it); 3.12 and 3.13 work too.
# Installs Debian/Ubuntu's libLLVM 15 when run as root, so Mitsuba gets its fast multi-core CPU variant;
# otherwise it says how, and wearforge falls back to the slower scalar variant.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-standalone}"

py="${PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3 || true)}"
if [ -z "$py" ]; then
  echo "wearforge needs Python 3.11 or newer: apt-get install python3 python3-venv" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "wearforge needs Python 3.11 or newer; $py is $version." >&2
  echo "Debian/Ubuntu: apt-get install python3.11 python3.11-venv (or set PYTHON=/path/to/python3.12)." >&2
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
  "$py" -m venv .venv || { echo "creating the virtual environment failed: apt-get install python3-venv (or python3.X-venv)" >&2; exit 1; }
fi
.venv/bin/python -m pip install -q --upgrade pip
case ",${extras}," in
  *,dev,*)
    # the tests run the README's torch DataLoader examples: the CPU wheel (~200 MB), not PyPI's CUDA build (GBs)
    .venv/bin/python -m pip install -q --retries 1 torch --index-url https://download.pytorch.org/whl/cpu \
      || echo "note: could not install torch's CPU wheel; pip will take torch from PyPI" >&2 ;;
esac
.venv/bin/python -m pip install -q -e ".[${extras}]"
