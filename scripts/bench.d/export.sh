# scripts/bench export: hermes-export against a shell's atomic write and curl. Sourced by scripts/bench.

suite_export() {
    local records=10000
    ensure_packages hyperfine jq prometheus
    local started=$EPOCHREALTIME
    make_workdir
    REFERENCE="shell/curl"
    build hermes-export hermes-bench

    step "generating $records records"
    "$BIN/hermes-bench" generate "$records" >"$WORK/records.ndjson" || die "hermes-bench generate failed"
    tail -n 1 "$WORK/records.ndjson" >"$WORK/one.ndjson"

    export_textfile
    export_loki "$records"
    export_spool "$records"
    export_remote_write "$records"

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
    # The counters count the runs; everything else must be what the first run wrote.
    expect_equal "textfile written by hermes-export" "$(grep -v '_total{' "$WORK/expected.prom")" \
        "$(grep -v '_total{' "$dir/hermes.prom")"
    expect_equal "runs counted in the textfile" 'hermes_measurements_total{result="success"} 56' \
        "$(grep 'hermes_measurements_total{result="success"}' "$dir/hermes.prom")"
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
    "$BIN/hermes-export" --loki "http://127.0.0.1:$SINK_PORT" --loki-retries 0 --spool "$WORK/spool" \
        <"$WORK/records.ndjson" ||
        die "hermes-export --loki failed against the sink"
    stop_sink
    expect_equal "entries received by the sink" "$records" "$(awk '{ n += $1 } END { print n }' "$save/entries")"
    local bodies=("$save"/*.gz)

    start_sink
    local url="http://127.0.0.1:$SINK_PORT/loki/api/v1/push"
    curl_replay "$WORK/curl.sh" "$url" "${LOKI_HEADERS[@]}" -- "${bodies[@]}"
    step "loki: $records records, 10 runs each (hyperfine)"
    hyperfine --warmup 2 --runs 10 --export-json "$WORK/loki.json" \
        "$BIN/hermes-export --loki $url --loki-retries 0 --spool $WORK/spool < $WORK/records.ndjson" \
        ". $WORK/curl.sh" >"$WORK/loki.txt" 2>&1 || { cat "$WORK/loki.txt" >&2; stop_sink; die "hyperfine failed"; }
    stop_sink
    push_rows "$WORK/loki.json" "push $records records to Loki" "$records" 1000
    note "loki: hyperfine, 2 warm-ups, 10 runs, both through a shell whose start-up hyperfine subtracts." \
        "hermes-bench receive (the tests' loopback TestServer: HTTP/1.1 keep-alive, 204 for every POST) serves both." \
        "hermes-export reads and validates the NDJSON, writes every record to its spool first (checksummed" \
        "segments, fsynced), encodes the push JSON, gzips, sends ${#bodies[@]} request(s) of at most 1 MiB of" \
        "lines and removes the accepted segments; the sink counted all $records entries." \
        "curl (one process, --next, one connection) posts the very same ${#bodies[@]} gzip bodies, already" \
        "made, so its figure is transport alone; the receiver's own cost is in both."
}

# A backlog of records spooled while Loki was down, then flushed when it is back; and the cost
# of spooling itself.
export_spool() {
    local records=$1 url template="$WORK/spool-template" save="$WORK/spool-bodies"
    step "spool: $records records while Loki answers 503"
    start_receiver DOWN --status 503 --body "ingester unavailable"
    url="http://127.0.0.1:$DOWN_PORT/loki/api/v1/push"
    local runs=() started elapsed
    for _ in 1 2 3 4 5; do
        rm -rf "$template"
        started=$EPOCHREALTIME
        "$BIN/hermes-export" --loki "$url" --loki-retries 0 --spool "$template" <"$WORK/records.ndjson" \
            2>"$WORK/spool.err" || die "hermes-export with Loki down failed: $(cat "$WORK/spool.err")"
        elapsed=$(calc '(e - s) * 1000' e="$EPOCHREALTIME" s="$started")
        runs+=("$elapsed")
    done
    stop_receiver "$DOWN_PID"
    grep -q "$records record(s) wait in the spool" "$WORK/spool.err" || die "the spool does not hold $records records"
    local per_record
    per_record=$(calc 't / n' t="$(median "${runs[@]}")" n="$records")
    row "spool $records records (Loki down), ms per record" "$per_record" - lower "<= 0.2 ms" \
        "$(verdict "$per_record" "<=" 0.2)"

    # The same backlog, flushed to a receiver that takes it, from a fresh copy each run. The
    # queue is named after the destination, so the receiver comes back on the same port.
    step "spool: recording the bodies of a flushed backlog"
    mkdir -p "$save"
    start_receiver BACK --port "$DOWN_PORT" --save "$save"
    rm -rf "$WORK/spool-run" && cp -a "$template" "$WORK/spool-run"
    "$BIN/hermes-export" --loki "$url" --spool "$WORK/spool-run" </dev/null || die "flushing the spool failed"
    stop_receiver "$BACK_PID"
    expect_equal "entries received from the spool" "$records" "$(awk '{ n += $1 } END { print n }' "$save/entries")"
    local bodies=("$save"/*.gz)
    start_receiver BACK --port "$DOWN_PORT"
    curl_replay "$WORK/curl-spool.sh" "$url" "${LOKI_HEADERS[@]}" -- "${bodies[@]}"
    step "spool: flushing a backlog of $records records, 10 runs each (hyperfine)"
    hyperfine --warmup 1 --runs 10 --export-json "$WORK/flush.json" \
        --prepare "rm -rf $WORK/spool-run && cp -a $template $WORK/spool-run" \
        "$BIN/hermes-export --loki $url --spool $WORK/spool-run < /dev/null" \
        ". $WORK/curl-spool.sh" >"$WORK/flush.txt" 2>&1 || {
        cat "$WORK/flush.txt" >&2
        stop_receiver "$BACK_PID"
        die "hyperfine failed"
    }
    # hyperfine prepares a fresh copy before the curl runs too: flush one more and check it empties.
    rm -rf "$WORK/spool-run" && cp -a "$template" "$WORK/spool-run"
    "$BIN/hermes-export" --loki "$url" --spool "$WORK/spool-run" </dev/null || die "flushing the spool failed"
    stop_receiver "$BACK_PID"
    [[ -z $(find "$WORK/spool-run" -name '*.spool') ]] || die "the flushed spool is not empty"
    push_rows "$WORK/flush.json" "flush a spooled backlog of $records to Loki" "$records" 1000
    note "spool: hermes-export with a Loki stand-in answering 503 and no retries, 5 runs, wall time over" \
        "$records records: reading, validating, writing the checksummed segments (synced, renamed) and one" \
        "refused request, so the per-record figure bounds the spool's own cost from above. The flush reads a" \
        "copy of that backlog (${#bodies[@]} request(s)), checks every entry's CRC, decodes the records, builds" \
        "and gzips the push JSON, and removes the segments Loki accepted; curl posts the same bodies, made."
}

# Remote write of records stamped within the last hour (the window Prometheus takes without
# out_of_order_time_window) into the real Prometheus, against curl posting the same bodies.
export_remote_write() {
    local records=$1 save="$WORK/rw-bodies" dir="$WORK/prometheus"
    python3 - "$WORK/records.ndjson" "$WORK/recent.ndjson" <<'PY' || die "cannot restamp the records"
import datetime, json, sys
lines = open(sys.argv[1]).read().splitlines()
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
with open(sys.argv[2], "w") as out:
    for index, line in enumerate(lines):
        record = json.loads(line)
        stamp = now - datetime.timedelta(milliseconds=300 * (len(lines) - index))
        record["timestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (stamp.microsecond // 1000)
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
PY
    mkdir -p "$dir"
    # Every run after the first sends the same samples again, older than what Prometheus holds:
    # the out-of-order window (documented in hermes-export(1)) lets it take them.
    printf 'global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 1d\n' >"$dir/prometheus.yml"
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
    local prometheus_pid=$! tries=0
    until curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null; do
        ((tries++ < 200)) || die "Prometheus did not start: $(tail -5 "$dir/log")"
        sleep 0.1
    done
    local url="http://127.0.0.1:$port/api/v1/write"

    step "remote write: recording the request bodies"
    mkdir -p "$save"
    start_receiver RW --save "$save"
    "$BIN/hermes-export" --remote-write "http://127.0.0.1:$RW_PORT/api/v1/write" --spool "$WORK/rw-spool" \
        <"$WORK/recent.ndjson" || die "hermes-export --remote-write failed against the sink"
    stop_receiver "$RW_PID"
    local bodies=("$save"/*.gz)
    curl_replay "$WORK/curl-rw.sh" "$url" "Content-Type: application/x-protobuf" "Content-Encoding: snappy" \
        "X-Prometheus-Remote-Write-Version: 0.1.0" -- "${bodies[@]}"

    step "remote write: $records records into Prometheus, 10 runs each (hyperfine)"
    hyperfine --warmup 1 --runs 10 --export-json "$WORK/rw.json" \
        "$BIN/hermes-export --remote-write $url --spool $WORK/rw-spool < $WORK/recent.ndjson" \
        ". $WORK/curl-rw.sh" >"$WORK/rw.txt" 2>&1 || {
        cat "$WORK/rw.txt" >&2
        kill "$prometheus_pid"
        die "hyperfine failed"
    }
    local count
    count=$(curl -s "http://127.0.0.1:$port/api/v1/query" --data-urlencode \
        'query=sum(count_over_time(hermes_last_run_timestamp_seconds[2h]))' | jq -r '.data.result[0].value[1]')
    kill "$prometheus_pid"
    wait "$prometheus_pid" 2>/dev/null || true
    expect_equal "samples of hermes_last_run_timestamp_seconds (all probes) in Prometheus" "$records" "$count"
    push_rows "$WORK/rw.json" "remote write $records records to Prometheus" "$records" 3000
    note "remote write: the real Prometheus (Debian's, --web.enable-remote-write-receiver) on loopback; the" \
        "$records records restamped within the last hour, and out_of_order_time_window set so that the" \
        "repeats of later runs are taken. hermes-export spools each record's series, then sends ${#bodies[@]} snappy" \
        "WriteRequests of at most 512 KiB; curl posts the same bodies, recorded from hermes-export. Both pay" \
        "Prometheus's ingestion; Prometheus held all $records samples of hermes_last_run_timestamp_seconds (over every probe) afterwards."
}

LOKI_HEADERS=("Content-Type: application/json" "Content-Encoding: gzip")

# curl_replay SCRIPT URL HEADER... -- BODY...: writes a script for one curl process that posts
# every body to URL on one connection (--next), the reference each push is measured against.
curl_replay() {
    local script=$1 url=$2 body
    shift 2
    local -a headers=() arguments=()
    while [[ $1 != -- ]]; do
        headers+=(-H "$1")
        shift
    done
    shift
    for body in "$@"; do
        ((${#arguments[@]})) && arguments+=(--next)
        arguments+=(-s -o /dev/null -f "${headers[@]}" --data-binary "@$body" "$url")
    done
    printf '%q ' curl "${arguments[@]}" >"$script"
}

# push_rows JSON LABEL RECORDS TARGET_MS: hyperfine's medians (hermes first, curl second) as a
# time row against TARGET_MS and a records/s row.
push_rows() {
    local json=$1 label=$2 records=$3 target=$4 hermes_ms reference_ms
    hermes_ms="$(jq -r '.results[0].median * 1000' "$json")"
    reference_ms="$(jq -r '.results[1].median * 1000' "$json")"
    row "$label, median ms" "$hermes_ms" "$reference_ms" lower "<= $target ms" "$(verdict "$hermes_ms" "<=" "$target")"
    row "  records/s" "$(calc 'n * 1000 / t' n="$records" t="$hermes_ms")" \
        "$(calc 'n * 1000 / t' n="$records" t="$reference_ms")" higher - -
}

# The Loki stand-in: 204 for every push; with a directory, each body and its entry count are saved.
start_sink() {
    start_receiver SINK ${1:+--save "$1"}
}

stop_sink() {
    stop_receiver "$SINK_PID"
}
