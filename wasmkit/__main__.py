"""``python -m wasmkit`` is the ``wasmkit`` command."""

from wasmkit.cli.main import main

if __name__ == "__main__":
    main()
