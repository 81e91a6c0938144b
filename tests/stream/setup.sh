#!/usr/bin/env bash
# What the live-stream tests need besides the Python packages: Debian's ffmpeg, which plays a
# video as a live stream on 127.0.0.1 (UDP/HTTP MPEG-TS). Installs it when missing (root, or sudo).
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends ffmpeg
ffmpeg -version | head -1
