# scripts/bench export: hermes-export against a shell's atomic write and curl. Sourced by scripts/bench.

suite_export() {
    local records=10000
    ensure_packages hyperfine jq
    local started=$EPOCHREALTIME
    make_workdir
    REFERENCE="shell/curl"
    build hermes-export hermes-bench

    step "generating $records records"
    "$BIN/hermes-bench" generate "$records" >"$WORK/records.ndjson" || die "hermes-bench generate failed"
    tail -n 1 "$WORK/records.ndjson" >"$WORK/one.ndjson"

    export_textfile
    export_loki "$records"

    print_report "hermes-export vs shell and curl" "$started" \
        "better if: which way a figure improves; the ratio is hermes / reference, so for times below 1" \
        "means hermes is faster."
}

export_textfile() {
    local dir="$WORK/textfile"
    mkdir -p "$dir"
    "$BIN/hermes-export" --textfile "$dir/hermes.prom" <"$WORK/one.ndjson" || die "hermes-export --textfile failed"
    cp "$dir/hermes.prom" "$WORK/expected.prom"
    step "textfile: one record per run, 50 runs each (hyperfine)"
    hyperfine --warmup 5 --runs 50 --export-json "$WORK/textfile.json" \
        "$BIN/hermes-export --textfile $dir/hermes.prom < $WORK/one.ndjson" \
        "cat $WORK/expected.prom > $dir/ref.prom.tmp && sync $dir/ref.prom.tmp && mv $dir/ref.prom.tmp $dir/ref.prom" \
        >"$WORK/textfile.txt" 2>&1 || { cat "$WORK/textfile.txt" >&2; die "hyperfine failed"; }
    expect_equal "textfile written by hermes-export" "$(cat "$WORK/expected.prom")" "$(cat "$dir/hermes.prom")"
    expect_equal "files left in the textfile directory" "hermes.prom ref.prom" "$(cd "$dir" && echo *)"
    local hermes_ms reference_ms
    hermes_ms="$(jq -r '.results[0].median * 1000' "$WORK/textfile.json")"
    reference_ms="$(jq -r '.results[1].median * 1000' "$WORK/textfile.json")"
    row "textfile per run (1 record), median ms" "$hermes_ms" "$reference_ms" lower "<= 20 ms" \
        "$(verdict "$hermes_ms" "<=" 20)"
    note "textfile: hyperfine, 5 warm-ups, 50 runs, through a shell for both (its start-up is subtracted by" \
        "hyperfine). hermes-export --textfile reads one record, reads the old file back, renders, writes a temp" \
        "file, fsyncs and renames; the reference copies the same finished exposition to a temp file, syncs it" \
        "and renames it (the sponge recipe), doing no parsing or rendering at all."
}

export_loki() {
    local records=$1 save="$WORK/bodies"
    mkdir -p "$save"
    step "loki: recording the request bodies hermes-export sends to the sink"
    start_sink "$save"
    "$BIN/hermes-export" --loki "http://127.0.0.1:$SINK_PORT" --loki-retries 0 <"$WORK/records.ndjson" ||
        die "hermes-export --loki failed against the sink"
    stop_sink
    expect_equal "entries received by the sink" "$records" "$(awk '{ n += $1 } END { print n }' "$save/entries")"
    local bodies=("$save"/*.gz)

    start_sink
    local url="http://127.0.0.1:$SINK_PORT/loki/api/v1/push" curl_args=() body
    for body in "${bodies[@]}"; do
        ((${#curl_args[@]})) && curl_args+=(--next)
        curl_args+=(-s -o /dev/null -f -H "Content-Type: application/json" -H "Content-Encoding: gzip"
            --data-binary "@$body" "$url")
    done
    printf '%q ' curl "${curl_args[@]}" >"$WORK/curl.sh"
    step "loki: $records records, 10 runs each (hyperfine)"
    hyperfine --warmup 2 --runs 10 --export-json "$WORK/loki.json" \
        "$BIN/hermes-export --loki $url --loki-retries 0 < $WORK/records.ndjson" \
        ". $WORK/curl.sh" >"$WORK/loki.txt" 2>&1 || { cat "$WORK/loki.txt" >&2; stop_sink; die "hyperfine failed"; }
    stop_sink
    local hermes_ms reference_ms
    hermes_ms="$(jq -r '.results[0].median * 1000' "$WORK/loki.json")"
    reference_ms="$(jq -r '.results[1].median * 1000' "$WORK/loki.json")"
    row "push $records records to Loki, median ms" "$hermes_ms" "$reference_ms" lower "<= 1000 ms" \
        "$(verdict "$hermes_ms" "<=" 1000)"
    row "  records/s" "$(calc 'n * 1000 / t' n="$records" t="$hermes_ms")" \
        "$(calc 'n * 1000 / t' n="$records" t="$reference_ms")" higher - -
    note "loki: hyperfine, 2 warm-ups, 10 runs, both through a shell whose start-up hyperfine subtracts." \
        "hermes-bench receive (the tests' loopback TestServer: HTTP/1.1 keep-alive, 204 for every POST) serves both." \
        "hermes-export reads and validates the NDJSON, encodes canonical lines and the push JSON, gzips and" \
        "sends ${#bodies[@]} request(s) of at most 1 MiB of lines; the sink counted all $records entries." \
        "curl (one process, --next, one connection) posts the very same ${#bodies[@]} gzip bodies, already" \
        "made, so its figure is transport alone; the receiver's own cost is in both."
}

# The Loki stand-in: 204 for every push; with a directory, each body and its entry count are saved.
start_sink() {
    start_receiver SINK ${1:+--save "$1"}
}

stop_sink() {
    stop_receiver "$SINK_PID"
}
