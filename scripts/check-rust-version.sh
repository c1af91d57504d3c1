#!/usr/bin/env bash
# The workspace's rust-version is true and inherited: every workspace member
# says `rust-version.workspace = true`, the crates outside the workspace
# (firmware/, fuzz/) state the same version, and the installed rustc is not
# older. Why the version is what it is: the comment beside it in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n '/^\[workspace.package\]/,/^\[/s/^rust-version = "\([0-9.]*\)"/\1/p' Cargo.toml)
[ -n "$want" ] || { echo "Cargo.toml: no rust-version in [workspace.package]"; exit 1; }
bad=0
members=$(sed -n '/^members = \[/s/.*\[\(.*\)\].*/\1/p' Cargo.toml | tr -d '" ' | tr ',' ' ')
for m in $members; do
    toml="$m/Cargo.toml"
    if ! grep -qx 'rust-version.workspace = true' "$toml"; then
        echo "$toml: does not inherit rust-version (add: rust-version.workspace = true)"
        bad=1
    fi
done
for toml in firmware/Cargo.toml fuzz/Cargo.toml; do
    [ -f "$toml" ] || continue
    if ! grep -qx "rust-version = \"$want\"" "$toml"; then
        echo "$toml: outside the workspace, must state rust-version = \"$want\""
        bad=1
    fi
done
have=$(rustc --version | sed 's/^rustc \([0-9.]*\).*/\1/')
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    echo "rustc $have is older than the workspace's rust-version $want"
    bad=1
fi
[ $bad = 0 ] && echo "rust-version $want: inherited by every crate; rustc $have"
exit $bad
