#!/usr/bin/env bash
# The demo: the starter policies against three candidates of credit-scorer, with a champion.
set -u
cd "$(dirname "$0")/.."
run() {
  echo "\$ pml-policy $*"
  pml-policy "$@"
  echo "(exit code $?)"
  echo
}
run validate policies/
for example in credit-pass credit-warn credit-fail; do
  run check "examples/$example" --champion examples/credit-champion -p policies/starter
done
echo "# with --fail-on warn, a warning blocks the gate too:"
pml-policy check examples/credit-warn --champion examples/credit-champion -p policies/starter --fail-on warn >/dev/null
echo "\$ pml-policy check examples/credit-warn ... --fail-on warn   (exit code $?)"

echo
echo "# every decision above was recorded in the audit log (.pml/audit.db), chained by sha256:"
echo "\$ pml-policy audit list --limit 4"
pml-policy audit list --limit 4
echo "\$ pml-policy audit verify"
pml-policy audit verify

echo
echo "# what the starter policies must decide, as business users wrote it (features/*.feature):"
run test features -p policies/starter
