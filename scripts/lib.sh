# scripts/lib.sh — shared by scripts/demo, scripts/test and scripts/install.
# Installs missing Debian packages and builds rtcbotd with meson.

# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}

BUILD_PACKAGES=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev libnice-dev libsoup-3.0-dev libjson-glib-dev libsystemd-dev
  libevdev-dev
)
RUNTIME_PACKAGES=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice fonts-dejavu-core
  gstreamer1.0-x glib-networking gstreamer1.0-alsa gstreamer1.0-libcamera
)
TEST_PACKAGES=(
  chromium python3-aiortc python3-aiohttp valgrind gdb iproute2 clang-format clang socat
  systemd systemd-container groff-base man-db python3-prometheus-client openssl coturn janus
  gstreamer1.0-plugins-base-apps
)

# log MESSAGE: a step, with the time since the script started (bash's SECONDS).
log() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# ensure_packages PKG...: installs the packages that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)"
    return 1
  fi
  log "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ensure_node: node and npm for the browser tests (Debian's if none is present).
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  ensure_packages nodejs npm
}

# build: configures (once) and compiles rtcbotd.
build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "configuring $BUILD_DIR"
    meson setup "$BUILD_DIR" "$ROOT" "$@"
  else
    meson setup --reconfigure "$BUILD_DIR" "$ROOT" "$@" >/dev/null
  fi
  log "building"
  ninja -C "$BUILD_DIR"
}
