# Podman serving the Docker Engine API, for the container runner (wasmkit/build/container.py).
#
# No image can be pulled here, so the Debian base image is made locally with debootstrap from the
# host's own apt mirror, and the builder images are built from it through wasmkit itself. Slow
# artefacts (the base rootfs, each builder image) are cached under $WASMKIT_CI_CACHE, keyed by
# version or by the image's content-hash tag, so a second run only checks that things are there.
# The service listens on unix:///run/wasmkit-podman.sock; nothing is exported: the tests find the
# socket themselves (tests/integration/container/conftest.py).

apt_install runc
apt_install podman debootstrap

# runc, cgroupfs, file events and explicit ulimits: crun and the defaults fail on these machines.
# A drop-in (not CONTAINERS_CONF) so that every podman - this script, the service, a person
# debugging - runs with the same settings.
wasmkit_podman_conf=/etc/containers/containers.conf.d/50-wasmkit.conf
wasmkit_podman_conf_text='# written by wasmkit .ci/setup.d/35-podman.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
'
if [ "$(cat "$wasmkit_podman_conf" 2>/dev/null)" != "$(printf '%s' "$wasmkit_podman_conf_text")" ]; then
  mkdir -p "$(dirname "$wasmkit_podman_conf")"
  printf '%s' "$wasmkit_podman_conf_text" >"$wasmkit_podman_conf"
fi

# The Debian base image: localhost/debian-base:bookworm (the builder images' default BASE).
wasmkit_base_ref=localhost/debian-base:bookworm
if ! podman image exists "$wasmkit_base_ref"; then
  # The mirror is the first URI of the host's Debian sources; the image keeps the host's sources.
  wasmkit_sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$wasmkit_sources" ]; then
    wasmkit_mirror="$(awk '/^URIs:/ {print $2; exit}' "$wasmkit_sources")"
  else
    wasmkit_sources=/etc/apt/sources.list
    wasmkit_mirror="$(awk '$1 == "deb" && $0 ~ /bookworm / {print $2; exit}' "$wasmkit_sources")"
  fi
  wasmkit_base_key="bookworm-minbase-v1-$(sha256sum "$wasmkit_sources" | cut -c1-12)"
  wasmkit_base_tar="$WASMKIT_CI_CACHE/debian-base/$wasmkit_base_key.tar"
  if [ ! -s "$wasmkit_base_tar" ]; then
    wasmkit_rootfs="$(mktemp -d /var/tmp/wasmkit-rootfs.XXXXXX)"
    debootstrap --variant=minbase bookworm "$wasmkit_rootfs" "${wasmkit_mirror:-http://deb.debian.org/debian}" \
      >"$wasmkit_rootfs.log" 2>&1 || { tail -30 "$wasmkit_rootfs.log"; exit 1; }
    rm -f "$wasmkit_rootfs/etc/apt/sources.list"
    cp "$wasmkit_sources" "$wasmkit_rootfs/etc/apt/sources.list.d/"
    # Like the host: no date checks (snapshot mirrors), no recommends, no docs.
    printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' \
      >"$wasmkit_rootfs/etc/apt/apt.conf.d/90wasmkit"
    rm -rf "$wasmkit_rootfs"/var/cache/apt/archives/*.deb "$wasmkit_rootfs"/var/lib/apt/lists/*
    mkdir -p "$(dirname "$wasmkit_base_tar")"
    tar -C "$wasmkit_rootfs" --numeric-owner -cf "$wasmkit_base_tar.tmp" .
    mv "$wasmkit_base_tar.tmp" "$wasmkit_base_tar"
    rm -rf "$wasmkit_rootfs" "$wasmkit_rootfs.log"
  fi
  podman import --quiet "$wasmkit_base_tar" "$wasmkit_base_ref" >/dev/null
fi

# The Docker API: reuse a service that answers, else start one that outlives this script.
wasmkit_podman_sock=/run/wasmkit-podman.sock
wasmkit_podman_ping() {
  curl -fsS --max-time 2 --unix-socket "$wasmkit_podman_sock" http://d/_ping >/dev/null 2>&1
}
# A service started from a directory that is gone since (an earlier run's clone) still answers
# the API, but conmon cannot start a container from there ("write child: broken pipe"): stop it.
for wasmkit_pid in $(pgrep -f "podman system service .*$wasmkit_podman_sock" || true); do
  case "$(readlink "/proc/$wasmkit_pid/cwd" 2>/dev/null)" in
    *" (deleted)") kill "$wasmkit_pid" 2>/dev/null || true; sleep 0.5 ;;
  esac
done
if ! wasmkit_podman_ping; then
  rm -f "$wasmkit_podman_sock"
  # from / (it outlives this checkout, which may be removed while it runs)
  (cd / && setsid nohup podman system service --time=0 "unix://$wasmkit_podman_sock" \
    >>/var/log/wasmkit-podman.log 2>&1 </dev/null &)
  for _ in $(seq 50); do wasmkit_podman_ping && break; sleep 0.2; done
  wasmkit_podman_ping || { tail -20 /var/log/wasmkit-podman.log; echo "podman service did not answer"; exit 1; }
fi

# The builder images: loaded from the cache when saved before, else built through wasmkit's own
# code path (what `wasmkit build --runner container` does on first use) and saved, keyed by tag.
wasmkit_image_cache="$WASMKIT_CI_CACHE/builder-images"
mkdir -p "$wasmkit_image_cache"
for wasmkit_lang in ${WASMKIT_BUILDER_IMAGES:-cpp assemblyscript rust go}; do
  wasmkit_tag="$(python3 -c 'import sys; from wasmkit.build.images import builder_image
print(builder_image(sys.argv[1]).tag)' "$wasmkit_lang")"
  wasmkit_archive="$wasmkit_image_cache/$(basename "${wasmkit_tag/:/-}").tar"
  if ! podman image exists "$wasmkit_tag"; then
    if [ -s "$wasmkit_archive" ]; then
      podman load --quiet --input "$wasmkit_archive" >/dev/null
    else
      wasmkit_start=$(date +%s)
      DOCKER_HOST="unix://$wasmkit_podman_sock" python3 -c 'import sys
from wasmkit.build.container import Engine
from wasmkit.build.images import builder_image
Engine.connect().ensure_image(builder_image(sys.argv[1]))' "$wasmkit_lang"
      echo "built $wasmkit_tag in $(( $(date +%s) - wasmkit_start ))s"
    fi
  fi
  if [ ! -s "$wasmkit_archive" ]; then
    rm -f "$wasmkit_image_cache/wasmkit-builder-$wasmkit_lang-"*.tar  # older recipes
    podman save --quiet --output "$wasmkit_archive.tmp" "$wasmkit_tag"
    mv "$wasmkit_archive.tmp" "$wasmkit_archive"
  fi
done
