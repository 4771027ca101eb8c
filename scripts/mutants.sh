#!/usr/bin/env bash
# Mutation check: breaks safety rules on purpose, one at a time, and asserts that the
# test meant to guard each rule fails. A mutation that survives (its test still passes)
# means that rule is no longer tested; the script then exits 1.
#
# Each source file is restored from a backup copy after its run, and on any exit or
# interrupt (trap), never with git stash. Run from anywhere inside the checkout:
#   scripts/mutants.sh            # all mutations
#   scripts/mutants.sh redactor   # only those whose name contains "redactor"
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
backup_dir=$(mktemp -d)
current=""

restore() {
    if [[ -n "$current" && -f "$backup_dir/file" ]]; then
        cp -p "$backup_dir/file" "$current"
        touch "$current" # so cargo rebuilds from the restored text
        current=""
    fi
}
trap 'restore; rm -rf "$backup_dir"' EXIT
trap 'echo "interrupted; restoring" >&2; exit 130' INT TERM

# name | file | text to find (exactly once) | replacement | cargo test arguments
MUTATIONS=(
"emergency-access rule|src/resources/conditional_access/guard.rs|if !excluded.contains(&id) {|if false && !excluded.contains(&id) {|--test it conditional_access::mfa_pilot::a_policy_file_that_forgets_the_exclusion_is_refused"
"redactor|src/graph/redact.rs|let v = if is_sensitive(k) {|let v = if false && is_sensitive(k) {|--lib graph::redact::tests::secrets_are_replaced_at_any_depth"
"orphan decision|src/resources/client_secret.rs|if age < PENDING_WINDOW {|if age > PENDING_WINDOW {|--test it ownership::a_lost_add_password_answer_leaves_an_orphan_that_a_fresh_runner_removes"
"uniqueName upsert|src/resources/application/mod.rs|.header(\"Prefer\", \"create-if-missing\")|.header(\"Prefer\", \"return=minimal\")|--test it provision::a_cold_apply_builds_exactly_the_seed_app"
"0600 mode|crates/entra-base/src/fsutil.rs|file.set_permissions(std::fs::Permissions::from_mode(0o600))|file.set_permissions(std::fs::Permissions::from_mode(0o640))|-p entra-base --lib fsutil::tests::writes_whole_files_readable_by_the_owner_only"
"vault rollback|src/resources/client_secret.rs|Some(false) => match remove_password(ctx, &object_id, key_id).await {|Some(false) => match Ok::<(), ApplyError>(()) {|--test it key_vault::a_refused_vault_write_takes_the_new_secret_off_the_app"
"secret the vault serves|src/resources/client_secret.rs|let served = in_vault == Some(secret.key_id) && secret.expires() > now;|let served = false;|--test it key_vault::a_secret_the_vault_still_serves_outlives_its_grace_period"
"verified domains|src/resources/domains.rs|Some(host) if !held && !identifier_uri::on_verified_domain(&host, verified) =>|Some(host) if false && !held =>|--test it domains::an_identifier_uri_off_the_verified_domains_stops_plan_and_apply_before_any_write"
"record repair|src/kind/context.rs|if ours.shown_in(&record) && self.lacks_own(&record) {|if false && ours.shown_in(&record) && self.lacks_own(&record) {|--test it reliability::convergence::a_record_write_from_a_stale_copy_is_repaired_by_the_run_it_dropped"
)

survived=()
start=$SECONDS
for entry in "${MUTATIONS[@]}"; do
    IFS='|' read -r name file find replace test_args <<<"$entry"
    if [[ $# -gt 0 && "$name" != *"$1"* ]]; then
        continue
    fi
    cp -p "$file" "$backup_dir/file"
    current=$file
    # Exactly one occurrence, or the mutation is stale (the code moved): that is a failure too.
    if ! python3 - "$file" "$find" "$replace" <<'PY'
import sys
path, find, replace = sys.argv[1:]
text = open(path).read()
count = text.count(find)
if count != 1:
    sys.exit(f"{path}: expected `{find}` once, found it {count} times")
open(path, "w").write(text.replace(find, replace))
PY
    then
        survived+=("$name (mutation no longer applies)")
        restore
        continue
    fi
    echo "== $name: $file: \`$find\` -> \`$replace\`"
    # shellcheck disable=SC2086 # test_args is a list of words
    if cargo test --locked $test_args >"$backup_dir/log" 2>&1; then
        echo "   SURVIVED: cargo test --locked $test_args passed"
        survived+=("$name")
    elif grep -q "^test result: FAILED" "$backup_dir/log"; then
        echo "   caught by cargo test --locked $test_args"
    else
        # A build error or no test run is not a catch.
        tail -20 "$backup_dir/log"
        echo "   NOT CAUGHT: the mutated code did not build or no test ran"
        survived+=("$name (did not build)")
    fi
    restore
done

echo "mutation check took $((SECONDS - start))s"
if [[ ${#survived[@]} -gt 0 ]]; then
    printf 'survived: %s\n' "${survived[@]}" >&2
    exit 1
fi
echo "every mutation was caught"
