# Debian packages every part needs. A part that needs more adds its own apt_install line.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ -z "${WASMKIT_APT_UPDATED:-}" ]; then
      apt-get update -qq
      export WASMKIT_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
apt_install ca-certificates curl
