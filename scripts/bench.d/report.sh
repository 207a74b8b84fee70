# scripts/bench report: hermes-report on a year of half-hourly records, one probe and ten, against
# the time hermes-store query takes to produce that input. Sourced by scripts/bench.

suite_report() {
    ensure_packages jq
    local started=$EPOCHREALTIME
    make_workdir
    REFERENCE="store query"
    build hermes-store hermes-report hermes-bench

    step "a year of half-hourly records: one probe (17,520), and ten probes (175,200)"
    "$BIN/hermes-bench" generate 17520 | sed -e 's/"probe":"[^"]*"/"probe":"probe-0"/' >"$WORK/one.ndjson"
    local probe
    for probe in 0 1 2 3 4 5 6 7 8 9; do
        sed -e "s/\"probe\":\"probe-0\"/\"probe\":\"probe-$probe\"/" "$WORK/one.ndjson"
    done >"$WORK/ten.ndjson"
    "$BIN/hermes-store" --sqlite "$WORK/one.db" <"$WORK/one.ndjson" || die "hermes-store failed"
    "$BIN/hermes-store" --sqlite "$WORK/ten.db" <"$WORK/ten.ndjson" || die "hermes-store failed"

    local size runs=(1 2 3)
    for size in one ten; do
        local label="1 probe"
        [[ $size == ten ]] && label="10 probes"
        step "$label: hermes-store query, then hermes-report on its output, 3 runs each"
        local query_times=() report_times=() run
        for run in "${runs[@]}"; do
            query_times+=("$(seconds_of "$BIN/hermes-store" query --sqlite "$WORK/$size.db" --type all --since 100000d)")
        done
        "$BIN/hermes-store" query --sqlite "$WORK/$size.db" --type all --since 100000d >"$WORK/$size.query"
        expect_equal "records queried ($size)" "$(grep -c . "$WORK/$size.ndjson")" "$(grep -c . "$WORK/$size.query")"
        for run in "${runs[@]}"; do
            report_times+=("$(seconds_of report_page "$size")")
        done
        local query report bytes limit=1 size_limit=1572864
        [[ $size == ten ]] && limit=5 && size_limit=15728640
        query="$(median "${query_times[@]}")"
        report="$(median "${report_times[@]}")"
        bytes="$(stat -c %s "$WORK/$size.html")"
        row "$label × a year: report, median s" "$report" "$query" lower "<= $limit s" \
            "$(verdict "$report" "<=" "$limit")"
        row "$label × a year: page, MB" "$(calc 'b / 1048576' b="$bytes")" - lower \
            "<= $(calc 'l / 1048576' l="$size_limit") MB" "$(verdict "$bytes" "<=" "$size_limit")"
        note "$label: hermes-report --output on the query's output (read, decode, render, atomic write): " \
            "$(each_pretty "${report_times[@]}") s; hermes-store query --type all: $(each_pretty "${query_times[@]}") s."
    done
    note "The reference is what a timer pays anyway to make the input (hermes-store query of the same" \
        "records from SQLite); the ratio says what the report adds on top. Ten probes are ten copies of the" \
        "same year under other names, each drawn in its own section; ten sections may reach 10× one page."

    print_report "hermes-report: a year of records, one probe and ten" "$started"
}

report_page() {
    "$BIN/hermes-report" --output "$WORK/$1.html" <"$WORK/$1.query"
}
