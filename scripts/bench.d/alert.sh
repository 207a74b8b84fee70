# scripts/bench alert: hermes-alert against the sum of its providers' timeouts. Sourced by scripts/bench.

# Loopback receivers for the alert suite: the first three answer 200 at once, the last accepts and
# never answers. Prints the four ports on one line, then serves until killed.
suite_alert() {
    local timeout=${BENCH_TIMEOUT:-2}
    [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a whole number of seconds ≥ 1, got $timeout"
    ensure_packages hyperfine
    local started=$EPOCHREALTIME
    make_workdir
    build hermes-alert hermes-bench

    step "starting 4 loopback receivers (one never answers)"
    start_receiver WEBHOOK --status 200 --body '{}'
    start_receiver GOTIFY --status 200 --body '{}'
    start_receiver APPRISE --status 200 --body '{}'
    start_receiver HUNG --hang
    trap 'stop_receiver "$WEBHOOK_PID" "$GOTIFY_PID" "$APPRISE_PID" "$HUNG_PID"; cleanup' EXIT
    local webhook=$WEBHOOK_PORT gotify=$GOTIFY_PORT apprise=$APPRISE_PORT hung=$HUNG_PORT
    printf 'bench-token' >"$WORK/gotify-token"
    local base=(test --allow-private-targets --timeout "${timeout}s"
        --webhook-url "http://127.0.0.1:$webhook/hook"
        --gotify-url "http://127.0.0.1:$gotify" --gotify-token-file "$WORK/gotify-token"
        --apprise-url "http://127.0.0.1:$apprise/notify/key")

    step "4 providers answering, 5 runs"
    local run all_answer=() one_hangs=() output
    for run in 1 2 3 4 5; do
        output="$("$BIN/hermes-alert" "${base[@]}" --ntfy-url "http://127.0.0.1:$webhook" --ntfy-topic t)" ||
            die "hermes-alert test failed with every receiver answering: $output"
        all_answer+=("$(seconds_of "$BIN/hermes-alert" "${base[@]}" --ntfy-url "http://127.0.0.1:$webhook" --ntfy-topic t)")
    done

    step "ntfy never answers, 5 runs of up to ${timeout} s"
    for run in 1 2 3 4 5; do
        local start=$EPOCHREALTIME status=0
        output="$("$BIN/hermes-alert" "${base[@]}" --ntfy-url "http://127.0.0.1:$hung" --ntfy-topic t)" || status=$?
        one_hangs+=("$(calc 'e - s' e="$EPOCHREALTIME" s="$start")")
        expect_equal "exit status with one provider hanging" 75 "$status"
        expect_equal "providers delivered while one hangs" 3 "$(grep -c ': ok$' <<<"$output")"
    done

    local sum hang_median answer_median limit
    sum="$(calc '4 * t' t="$timeout")"
    hang_median="$(median "${one_hangs[@]}")"
    answer_median="$(median "${all_answer[@]}")"
    limit="$(calc 't + 1' t="$timeout")"
    REFERENCE="sum of timeouts"
    row "notify 4, one hangs, median s" "$hang_median" "$sum" "lower" "<= $(pretty "$limit") s (timeout + 1)" \
        "$(verdict "$hang_median" "<=" "$limit")"
    row "notify 4, all answer, median s" "$answer_median" "-" "lower" "<= 0.5 s" "$(verdict "$answer_median" "<=" 0.5)"
    note "one hangs: $(each_pretty "${one_hangs[@]}") s; all answer: $(each_pretty "${all_answer[@]}") s."
    note "The Python Hermes sends one provider after another with requests' 10 s default, so one silent provider costs its whole timeout before the next is tried, and every provider silent costs the sum: $(pretty "$sum") s here. hermes-alert sends to all at once, each with its own budget."

    print_report "hermes-alert: 4 providers on loopback, --timeout ${timeout}s" "$started"
}
