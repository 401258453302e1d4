# OCI images (wasmkit.oci): the tests start Debian's docker-registry themselves, check interop with
# skopeo, make bcrypt htpasswd files (apache2-utils) and a test CA and token-signing key (openssl).
apt_install docker-registry skopeo apache2-utils openssl
