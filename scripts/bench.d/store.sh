# scripts/bench store: hermes-store against the sqlite3 CLI. Sourced by scripts/bench.

# What `hermes-store query --limit 50` runs (its default --type is result), with the values inlined:
# every column but id, read from the database hermes-store made (store_query sets it).
newest_50_sql() {
    local columns
    columns="$(sqlite3 "$1" "SELECT group_concat(name, ', ') FROM pragma_table_info('results') WHERE name != 'id'")"
    printf '%s' "SELECT $columns FROM results WHERE type = 'result' ORDER BY timestamp DESC, id DESC LIMIT 50"
}

suite_store() {
    local records=${BENCH_RECORDS:-1000000}
    [[ $records =~ ^[1-9][0-9]*$ && $records -ge 1000 ]] || die "BENCH_RECORDS must be a whole number ≥ 1000, got $records"
    ensure_packages hyperfine jq
    local started=$EPOCHREALTIME
    make_workdir
    build hermes-store hermes-bench

    step "generating $records records as NDJSON and as SQL"
    "$BIN/hermes-bench" generate "$records" >"$WORK/records.ndjson" &
    local ndjson=$!
    "$BIN/hermes-bench" generate "$records" --format sql >"$WORK/inserts.sql" &
    wait $! && wait "$ndjson" || die "hermes-bench generate failed"

    store_ingest "$records"
    store_query
    store_retention "$records"

    print_report "hermes-store vs sqlite3 CLI ($(pretty "$records") records)" "$started" \
        "better if: which way a figure improves; hermes/sqlite3 is the ratio of the two figures, so for" \
        "records/s above 1 means hermes is faster, and for times below 1 means hermes is faster."
}

store_ingest() {
    local records=$1
    local hermes_db="$WORK/hermes.db" reference_db="$WORK/sqlite3.db"

    # The reference gets hermes-store's own schema: taken from a database hermes-store created.
    "$BIN/hermes-store" --sqlite "$WORK/schema.db" </dev/null
    {
        echo "PRAGMA journal_mode = WAL;"
        echo "PRAGMA synchronous = NORMAL;"
        sqlite3 "$WORK/schema.db" '.schema results'
        echo "PRAGMA user_version = $(sqlite3 "$WORK/schema.db" 'PRAGMA user_version');"
    } >"$WORK/schema.sql"

    local run runs=3 hermes_times=() reference_times=()
    for ((run = 1; run <= runs; run++)); do
        step "ingest run $run of $runs: hermes-store"
        rm -f "$hermes_db" "$hermes_db"-wal "$hermes_db"-shm
        hermes_times+=("$(seconds_of ingest_with_hermes "$hermes_db")")
        expect_equal "rows stored by hermes-store" "$records" "$(count_rows "$hermes_db")"
        step "ingest run $run of $runs: sqlite3"
        rm -f "$reference_db" "$reference_db"-wal "$reference_db"-shm
        reference_times+=("$(seconds_of ingest_with_sqlite3 "$reference_db")")
        expect_equal "rows stored by sqlite3" "$records" "$(count_rows "$reference_db")"
    done

    step "checking that both databases hold the same rows"
    expect_equal "schema of the sqlite3 database" "$(sqlite3 "$hermes_db" .schema)" "$(sqlite3 "$reference_db" .schema)"
    expect_equal "journal mode of both" "wal wal" \
        "$(sqlite3 "$hermes_db" 'PRAGMA journal_mode') $(sqlite3 "$reference_db" 'PRAGMA journal_mode')"
    local column differs=()
    for column in $(sqlite3 "$hermes_db" "SELECT name FROM pragma_table_info('results')"); do
        differs+=("a.$column IS NOT b.$column")
    done
    local differing
    differing="$(sqlite3 "$hermes_db" "ATTACH '$reference_db' AS reference;
        SELECT count(*) FROM results a JOIN reference.results b ON a.id = b.id
        WHERE $(printf '%s OR ' "${differs[@]}") 0")"
    expect_equal "rows that differ between hermes-store's and sqlite3's database" 0 "$differing"

    step "ingest without decoding: SQLiteStore.append of records built in memory"
    local append_line
    append_line="$("$BIN/hermes-bench" append "$WORK/append.db" "$records")"
    expect_equal "records appended" "$records" "$(field appended "$append_line")"
    expect_equal "rows stored by append" "$records" "$(count_rows "$WORK/append.db")"
    rm -f "$WORK/append.db"

    local hermes_rate reference_rate append_rate
    hermes_rate="$(calc 'n / t' n="$records" t="$(median "${hermes_times[@]}")")"
    reference_rate="$(calc 'n / t' n="$records" t="$(median "${reference_times[@]}")")"
    append_rate="$(field records_per_s "$append_line")"
    row "ingest from stdin, records/s (median of $runs)" "$hermes_rate" "$reference_rate" higher ">= 200,000" \
        "$(verdict "$hermes_rate" ">=" 200000)"
    row "  of which store only: append, records/s" "$append_rate" - higher - "(diagnostic)"
    note "ingest: hermes-store --sqlite NEW < records.ndjson (canonical v1, 30 min apart, $(pretty "$(grep -c '"type":"failure"' "$WORK/records.ndjson")") failures)." \
        "sqlite3 reads the same rows as INSERT statements on stdin into a new file with hermes-store's schema" \
        "(its .schema and user_version), WAL, synchronous=NORMAL, BEGIN IMMEDIATE/COMMIT every 10,000 rows as" \
        "hermes-store batches; both sides include parsing text. .import was not used: sqlite3 3.40 stores" \
        "every CSV field as text and empty fields as '' instead of NULL, so it would not store the same rows." \
        "Both databases were compared column by column on every row: identical. Runs, seconds:" \
        "hermes $(each_pretty "${hermes_times[@]}"), sqlite3 $(each_pretty "${reference_times[@]}")."
    note "store only: hermes-bench append, SQLiteStore.append in batches of 10,000 of the same records built" \
        "in memory, timing append and close only; ingest minus this is the cost of reading and decoding NDJSON."
}

ingest_with_hermes() { "$BIN/hermes-store" --sqlite "$1" <"$WORK/records.ndjson"; }
ingest_with_sqlite3() { sqlite3 -bail -cmd ".read $WORK/schema.sql" "$1" <"$WORK/inserts.sql"; }

store_query() {
    local db="$WORK/hermes.db" NEWEST_50_SQL
    NEWEST_50_SQL="$(newest_50_sql "$db")"
    step "query: checking that both tools return the same newest 50 results"
    local hermes_newest reference_newest
    hermes_newest="$("$BIN/hermes-store" query --sqlite "$db" --limit 50 | jq -r .timestamp)"
    reference_newest="$(sqlite3 "$db" "SELECT timestamp FROM ($NEWEST_50_SQL)")"
    expect_equal "newest-50 rows from hermes-store query" 50 "$(grep -c . <<<"$hermes_newest")"
    expect_equal "newest-50 timestamps (hermes-store vs sqlite3)" "$reference_newest" "$hermes_newest"
    expect_equal "sqlite3 query plan" "SCAN results USING INDEX idx_results_timestamp" \
        "$(sqlite3 "$db" "EXPLAIN QUERY PLAN $NEWEST_50_SQL" | sed -n 's/^`--//p')"

    step "query: whole process, 30 runs each (hyperfine)"
    hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/query-process.json" \
        "$BIN/hermes-store query --sqlite $db --limit 50" \
        "sqlite3 $db \"$NEWEST_50_SQL\"" >"$WORK/query-process.txt" 2>&1 ||
        { cat "$WORK/query-process.txt" >&2; die "hyperfine failed"; }
    local statistics='.results[INDEX] | (.times | sort) as $t | "\(.median * 1000) \($t[(($t | length) * 0.9 | ceil) - 1] * 1000)"'
    local hermes_process reference_process
    read -r -a hermes_process <<<"$(jq -r "${statistics//INDEX/0}" "$WORK/query-process.json")"
    read -r -a reference_process <<<"$(jq -r "${statistics//INDEX/1}" "$WORK/query-process.json")"
    row "query newest 50, whole process, median ms" "${hermes_process[0]}" "${reference_process[0]}" lower "<= 30 ms" \
        "$(verdict "${hermes_process[0]}" "<=" 30)"
    row "query newest 50, whole process, p90 ms" "${hermes_process[1]}" "${reference_process[1]}" lower "<= 30 ms" \
        "$(verdict "${hermes_process[1]}" "<=" 30)"

    step "query: in-process, hermes-bench query (2000 calls) and sqlite3 (1000 statements in one process)"
    local in_process
    in_process="$("$BIN/hermes-bench" query "$db" --limit 50 --runs 2000)"
    expect_equal "rows per in-process query" 50 "$(field rows "$in_process")"
    local repeats=1000 i
    {
        echo ".output /dev/null"
        for ((i = 0; i < repeats; i++)); do echo "$NEWEST_50_SQL;"; done
    } >"$WORK/newest-50-repeated.sql"
    echo ".output /dev/null" >"$WORK/newest-50-none.sql"
    expect_equal "rows per sqlite3 statement" 50 "$(sqlite3 "$db" "SELECT count(*) FROM ($NEWEST_50_SQL)")"
    hyperfine -N --warmup 1 --runs 5 --export-json "$WORK/query-repeated.json" \
        "sqlite3 $db '.read $WORK/newest-50-repeated.sql'" \
        "sqlite3 $db '.read $WORK/newest-50-none.sql'" >"$WORK/query-repeated.txt" 2>&1 ||
        { cat "$WORK/query-repeated.txt" >&2; die "hyperfine failed"; }
    local hermes_ms reference_ms
    hermes_ms="$(calc 'us / 1000' us="$(field median_us "$in_process")")"
    reference_ms="$(jq -r ".results | (.[0].median - .[1].median) * 1000 / $repeats" "$WORK/query-repeated.json")"
    row "query newest 50, in-process, median ms" "$hermes_ms" "$reference_ms" lower "<= 1 ms" \
        "$(verdict "$hermes_ms" "<=" 1)"
    note "query, whole process: hyperfine -N, 3 warm-ups, 30 runs, both on hermes-store's database; sqlite3 runs the" \
        "SQL hermes-store issues for --limit 50 (default --type result): SELECT <its columns> FROM results" \
        "WHERE type = 'result' ORDER BY timestamp DESC, id DESC LIMIT 50 (plan: a backward scan of idx_results_timestamp)." \
        "Both returned the same 50 rows. p90 is nearest-rank."
    note "query, in-process: hermes-bench opens SQLiteStore once and times query(RecordQuery(limit: 50)) 2000 times" \
        "after $(field warmup "$in_process") warm-ups (p90 $(pretty "$(calc 'us / 1000' us="$(field p90_us "$in_process")")") ms)." \
        "sqlite3 has no in-process harness here, and .timer reports real time in whole milliseconds;" \
        "its figure is (median time of one sqlite3 process running the SELECT $repeats times with output to" \
        "/dev/null - median time of an empty one) / $repeats, so it includes the CLI formatting 1,200 values" \
        "as text per query, where hermes builds Record values instead."
}

store_retention() {
    local records=$1
    local remove=$((records / 10)) kept=$((records - records / 10))
    local db="$WORK/hermes.db" hermes_copy="$WORK/retention-hermes.db" reference_copy="$WORK/retention-sqlite3.db"
    # Copies of the .db file alone are complete only once the WAL is folded in.
    sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    [[ ! -s $db-wal ]] || die "$db-wal still holds pages after a checkpoint; copies would be incomplete"
    # The oldest row that stays: everything strictly older than it is the oldest 10 %.
    local cutoff
    cutoff="$(sqlite3 "$db" "SELECT timestamp FROM results ORDER BY timestamp LIMIT 1 OFFSET $remove")"
    expect_equal "rows older than $cutoff" "$remove" \
        "$(sqlite3 "$db" "SELECT count(*) FROM results WHERE timestamp < '$cutoff'")"
    local round hermes_seconds=() reference_seconds=()
    for round in 1 2 3; do
        step "retention round $round of 3: deleting the oldest $remove of $records rows"
        cp "$db" "$hermes_copy"
        cp "$db" "$reference_copy"
        # Alternate who goes first, so neither always meets a colder cache.
        if ((round % 2)); then
            retention_with_hermes
            retention_with_sqlite3
        else
            retention_with_sqlite3
            retention_with_hermes
        fi
        rm -f "$hermes_copy" "$reference_copy"
    done
    row "retention: delete oldest 10 %, seconds (median of 3)" "$(median "${hermes_seconds[@]}")" \
        "$(median "${reference_seconds[@]}")" lower - -
    note "retention: on identical copies of hermes-store's database. hermes-bench retention calls" \
        "applyRetention(maximumAgeDays: 1) with now = cutoff + 1 day, timed in-process; sqlite3 runs" \
        "DELETE FROM results WHERE timestamp < '$cutoff' with synchronous=NORMAL and reports .timer real." \
        "Both removed $(pretty "$remove") rows and left $(pretty "$kept") (checked each round). Rounds, seconds: hermes" \
        "$(each_pretty "${hermes_seconds[@]}"), sqlite3 $(each_pretty "${reference_seconds[@]}")."
}

# The two sides of a retention round; they use store_retention's locals.
retention_with_hermes() {
    local line
    line="$("$BIN/hermes-bench" retention "$hermes_copy" --remove-oldest "$remove")"
    expect_equal "rows removed by applyRetention" "$remove" "$(field removed "$line")"
    expect_equal "cutoff chosen by hermes-bench" "$cutoff" "$(field cutoff "$line")"
    expect_equal "rows left by applyRetention" "$kept" "$(count_rows "$hermes_copy")"
    hermes_seconds+=("$(calc 'us / 1000000' us="$(field delete_us "$line")")")
}

retention_with_sqlite3() {
    local timer
    timer="$(printf "PRAGMA synchronous = NORMAL;\n.timer on\nDELETE FROM results WHERE timestamp < '%s';\n" "$cutoff" |
        sqlite3 -bail "$reference_copy")"
    [[ $timer =~ real\ ([0-9.]+) ]] || die "sqlite3 printed no .timer figure: $timer"
    expect_equal "rows left by sqlite3's DELETE" "$kept" "$(count_rows "$reference_copy")"
    reference_seconds+=("${BASH_REMATCH[1]}")
}
