"""``wasmkit platforms``: the table of platforms, Envoy versions and ABIs."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--platform", "-p", type=click.Choice(["istio", "envoy"]), help="Only this one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def platforms(platform: str | None, as_json: bool) -> None:
    """Istio and Envoy versions: the Envoy underneath, the proxy-wasm ABIs they accept,
    the EnvoyFilter patch form and whether Istio's WasmPlugin API exists.

    A version newer than the table is accepted and treated like the newest row.
    """
    from wasmkit.abi import PLATFORM_TABLE

    rows = [r for r in PLATFORM_TABLE if platform is None or r.platform == platform]
    if as_json:
        data = [
            {
                "platform": r.platform,
                "version": r.version,
                "envoy": r.envoy,
                "abiVersions": sorted(a.value for a in r.abis),
                "envoyFilter": r.envoy_filter.value if r.envoy_filter else None,
                "wasmPlugin": r.wasm_plugin,
            }
            for r in rows
        ]
        click.echo(json.dumps(data, indent=2))
        return
    header = ("PLATFORM", "VERSION", "ENVOY", "ABI", "ENVOYFILTER", "WASMPLUGIN")
    table = [header] + [
        (
            r.platform,
            r.version,
            r.envoy,
            ",".join(sorted(a.value for a in r.abis)),
            r.envoy_filter.value if r.envoy_filter else "-",
            "yes" if r.wasm_plugin else "no",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
