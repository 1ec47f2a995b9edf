#!/usr/bin/env bash
# Released SQL scripts never change (docs/upgrades.md): a database made by a released install
# or update script must stay reproducible, and its next update script assumes exactly what the
# released one made. sql/released.sha256 holds the checksum of every released script; this
# fails when one of them changed, or when an install script, or an update script to a released
# version, is not listed there. Releasing a version adds its scripts to the list.
#
# While the crate's version is a released one, the install script the build generates (the
# one scripts/test.sh installed) must be the released one: a change to sql/*.sql or to a
# #[pg_extern] needs a new version and its update script. pgrx writes the objects in an order
# that is not stable from one build to the next, so the two are compared as sorted lines, less
# comments (which make nothing).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
integration_test released
cd "$EVP_TESTS/.."

list=sql/released.sha256
if ! changed=$(cd sql && sha256sum --quiet -c released.sha256 2>&1); then
    fail "a released script changed (add a new update script instead): $changed"
fi
newest=$(sed -n 's/^[0-9a-f]*  event_processor--\([0-9.]*\)\.sql$/\1/p' "$list" | sort -V | tail -1)
for f in sql/event_processor--*.sql; do
    name=$(basename "$f")
    target=$(sed 's/^event_processor--\(.*--\)\{0,1\}\([0-9.]*\)\.sql$/\2/' <<<"$name")
    [[ $name == *--*--* ]] && [ "$(printf '%s\n' "$target" "$newest" | sort -V | tail -1)" != "$newest" ] && continue
    grep -q "  $name\$" "$list" || fail "$name (to $target; released up to $newest) is not in $list"
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
generated=$("$PG_CONFIG" --sharedir)/extension/event_processor--$version.sql
if grep -q "  event_processor--$version.sql\$" "$list"; then
    statements() { grep -v '^[[:space:]]*--' "$1" | sort; }
    if ! differs=$(diff <(statements "sql/event_processor--$version.sql") <(statements "$generated")); then
        fail "version $version is released, and the build's install script differs from it (bump the version and add an update script):"
        head -20 <<<"$differs"
    fi
    same="; the build's install script is $version's as released"
fi
[ "$status" -eq 0 ] && echo "ok released: $(wc -l <"$list") released scripts unchanged, up to $newest${same:-}"
exit $status
