# scripts/bench soak: the whole service pipeline for thousands of timer cycles (SoakTests, with
# release binaries), its pace against the 10-minute target for 5,000 cycles, and each tool's
# memory and descriptors at the start and the end. Sourced by scripts/bench.

suite_soak() {
    local started=$EPOCHREALTIME cycles=${BENCH_CYCLES:-5000}
    make_workdir
    REFERENCE="target"
    build hermes-measure hermes-store hermes-export hermes-alert
    step "building the test bundle (debug), which drives the cycles"
    swift build --package-path "$ROOT" --build-tests >>"$WORK/build.log" 2>&1 ||
        { cat "$WORK/build.log" >&2; die "the test build failed"; }

    step "$cycles timer cycles (SoakTests; the tools from the release build)"
    local log="$WORK/soak.log" status=0
    (cd "$ROOT" && HERMES_BIN_DIR="$BIN" HERMES_SOAK_CYCLES="$cycles" \
        swift test --skip-build --filter SoakTests) >"$log" 2>&1 || status=$?
    local summary
    summary="$(grep -o 'SoakTests: .*' "$log" | head -1)"
    if ((status != 0)) || [[ -z $summary ]]; then
        grep -E '✘|recorded an issue|SoakTests:' "$log" >&2 || tail -40 "$log" >&2
        die "the soak failed (its log: $log; BENCH_KEEP=1 keeps it)"
    fi
    local seconds per_cycle minutes_for_5000
    seconds="$(sed -E 's/.* cycles in ([0-9.e+-]+) seconds.*/\1/' <<<"$summary")"
    per_cycle="$(calc 's / c * 1000' s="$seconds" c="$cycles")"
    minutes_for_5000="$(calc 'p * 5000 / 60000' p="$per_cycle")"
    row "one timer cycle, ms" "$per_cycle" 120 lower "<= 120 ms" "$(verdict "$per_cycle" "<=" 120)"
    row "5,000 cycles, minutes" "$minutes_for_5000" 10 lower "<= 10 min" "$(verdict "$minutes_for_5000" "<=" 10)"
    note "$summary"
    note "Each cycle is the service's pipeline: hermes-measure (--duration 50ms --max-bytes 50000 --timeout 1s)" \
        "against one of seven in-process hermes-targets picked at random (three healthy at 20, 100 and 400" \
        "Mbit/s; 503, a closed connection, a rate limit, a stall), tee, hermes-store --max-rows 300 into SQLite" \
        "and CSV, hermes-export to a textfile and a Loki refusing a fifth of its requests, hermes-alert to a" \
        "webhook; every tool under /usr/bin/time for its peak memory, descriptors sampled from /proc every 2 ms." \
        "The reference column is the target itself (5,000 cycles in 10 minutes), there being no other tool" \
        "that does the same work."
    print_report "soak: $cycles timer cycles of the whole pipeline" "$started"
}
