#!/usr/bin/env bash
# Shared by scripts/serve and scripts/test: checks the toolchain and installs the
# Debian packages Seduta needs, or says exactly what is missing.
set -euo pipefail

need_cmd() {
  command -v "$1" >/dev/null 2>&1
}

# apt_install PKG... : installs missing Debian packages (as root, or with sudo).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if need_cmd sudo; then sudo="sudo"; else
      echo "seduta: missing Debian packages: ${missing[*]}" >&2
      echo "        install them as root: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "seduta: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

require_rust() {
  if ! need_cmd cargo; then
    echo "seduta: cargo was not found; install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
  fi
}

# What the server needs to build and to record sessions: GStreamer's libraries (the
# recordings crate links them) and the plugins whose elements it uses (webmmux,
# matroskamux, h264parse, flacenc; appsink and filesink), and ffmpeg, which makes the
# preservation copy after the close and reads microphone activity for the archive.
RECORDING_PACKAGES=(libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad ffmpeg)
