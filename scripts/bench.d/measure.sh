# scripts/bench measure: hermes-measure against curl on loopback and iperf3 on shaped links.
# Sourced by scripts/bench.

suite_measure() {
    local gib=${BENCH_GIB:-4}
    [[ $gib =~ ^[1-9][0-9]*$ ]] || die "BENCH_GIB must be a whole number of GiB, got $gib"
    ensure_packages jq time iperf3 iproute2
    local started=$EPOCHREALTIME
    make_workdir
    REFERENCE="curl"
    build hermes-measure hermes-target

    measure_loopback "$gib"
    local loopback_table=$TABLE
    TABLE=""
    REFERENCE="iperf3"
    if [[ $(id -u) == 0 ]]; then
        local rate
        for rate in 20 100 500; do measure_shaped "$rate"; done
    else
        note "shaped links skipped: network namespaces and tc need root."
    fi

    local elapsed
    elapsed="$(calc 'e - s' e="$EPOCHREALTIME" s="$started")"
    echo "## hermes-measure vs curl on loopback, and vs iperf3 on shaped links"
    echo
    machine_summary
    echo
    local shaped_table=$TABLE
    TABLE=$loopback_table REFERENCE=curl
    print_table
    if [[ -n $shaped_table ]]; then
        echo
        TABLE=$shaped_table REFERENCE=iperf3
        print_table
    fi
    echo
    printf '%s\n' "${NOTES[@]}"
    echo "whole suite, build included: $(pretty "$elapsed") s."
}

# CPU seconds (user + system, children included) and wall seconds of "$@", as "cpu wall".
cpu_and_wall() {
    local start=$EPOCHREALTIME
    /usr/bin/time -f '%U %S' -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" ||
        { cat "$WORK/err.txt" >&2; die "$1 failed"; }
    local end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" '{ printf "%.6f %.6f", $1 + $2, e - s }' "$WORK/time.txt"
}

measure_loopback() {
    local gib=$1 bytes=$(($1 * 1073741824)) port
    step "loopback: hermes-target unpaced"
    "$BIN/hermes-target" --listen 127.0.0.1:0 2>"$WORK/target.log" &
    local target=$!
    local waited=0
    until port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/target.log")" && [[ -n $port ]]; do
        ((waited++ < 100)) || die "hermes-target did not start"
        sleep 0.05
    done
    local url="http://127.0.0.1:$port"

    local direction
    for direction in download upload; do
        local skip=--no-upload
        [[ $direction == upload ]] && skip=--no-download
        step "loopback $direction: hermes-measure, $gib GiB"
        local measured
        measured="$(cpu_and_wall "$BIN/hermes-measure" --server "$url" "$skip" --max-bytes "$bytes" --duration 60 \
            --timeout 120 --state-directory "$WORK/state")"
        local record streams moved reported
        record="$(cat "$WORK/out.txt")"
        streams="$(jq -r '.streams' <<<"$record")"
        moved="$(jq -r ".${direction}_bytes" <<<"$record")"
        reported="$(jq -r ".${direction}_mbps" <<<"$record")"
        [[ $moved =~ ^[0-9]+$ && $streams =~ ^[0-9]+$ ]] || die "hermes-measure printed no result: $record"

        step "loopback $direction: curl, the same $moved bytes over $streams streams"
        local each=$((moved / streams)) i
        local script="" target_url
        if [[ $direction == download ]]; then
            for ((i = 0; i < streams; i++)); do script+="curl -sf -o /dev/null '$url/__down?bytes=$each' & "; done
        else
            head -c "$each" /dev/urandom >"$WORK/upload.bin"
            for ((i = 0; i < streams; i++)); do
                script+="curl -sf -o /dev/null -H 'Expect:' -T '$WORK/upload.bin' '$url/__up' & "
            done
        fi
        local reference
        reference="$(cpu_and_wall bash -c "$script wait")"

        local hermes_cpu hermes_wall curl_cpu curl_wall
        read -r hermes_cpu hermes_wall <<<"$measured"
        read -r curl_cpu curl_wall <<<"$reference"
        local hermes_rate curl_rate
        hermes_rate="$(calc 'b * 8 / w / 1e6' b="$moved" w="$hermes_wall")"
        curl_rate="$(calc 'b * 8 / w / 1e6' b="$((each * streams))" w="$curl_wall")"
        row "$direction Mbit/s, wall clock ($streams streams)" "$hermes_rate" "$curl_rate" higher ">= 1.0x curl" \
            "$(verdict "$(calc 'h / c' h="$hermes_rate" c="$curl_rate")" ">=" 1.0)"
        local hermes_per_gib curl_per_gib
        hermes_per_gib="$(calc 'c / (b / 1073741824)' c="$hermes_cpu" b="$moved")"
        curl_per_gib="$(calc 'c / (b / 1073741824)' c="$curl_cpu" b="$((each * streams))")"
        row "$direction client CPU s per GiB" "$hermes_per_gib" "$curl_per_gib" lower "<= 1.0x curl" \
            "$(verdict "$(calc 'h / c' h="$hermes_per_gib" c="$curl_per_gib")" "<=" 1.0)"
        if [[ $direction == download ]]; then
            row "hermes-target serving curl, Mbit/s" "$curl_rate" "-" higher ">= 10,000" \
                "$(verdict "$curl_rate" ">=" 10000)"
        fi
        note "loopback $direction: hermes-measure reported $(pretty "$reported") Mbit/s over its steady window;" \
            "the table's figure is bytes over the whole process's wall time, as for curl (start-up, latency" \
            "test and slow start included for both)."
    done
    kill "$target" 2>/dev/null || true
    wait "$target" 2>/dev/null || true
    note "loopback: one host, 2 cores shared by client and server; CPU is the client's user + system" \
        "time from /usr/bin/time (curl: all its processes). hermes-target serves both from the same" \
        "incompressible buffer."
}

measure_shaped() {
    local rate=$1 name="hmb$$r$1"
    name=${name:0:11}
    step "shaped link $rate Mbit/s"
    local address
    address="$("$ROOT/scripts/lib/shaped-link" up "$name" "$rate" "78.$((rate % 250))")" || die "shaped-link up failed"
    # shellcheck disable=SC2064
    trap "'$ROOT/scripts/lib/shaped-link' down '$name'; cleanup" EXIT
    local iperf_down iperf_up reverse
    for reverse in -R ""; do
        ip netns exec "$name-srv" iperf3 -s -1 -B "$address" >/dev/null 2>&1 &
        sleep 0.5
        local goodput
        goodput="$(ip netns exec "$name-cli" iperf3 -c "$address" -t 8 -O 2 $reverse -J |
            jq -r '.end.sum_received.bits_per_second / 1e6')"
        if [[ $reverse == -R ]]; then iperf_down=$goodput; else iperf_up=$goodput; fi
        wait
    done
    ip netns exec "$name-srv" "$BIN/hermes-target" --listen "$address:8080" 2>/dev/null &
    local target=$!
    sleep 0.3
    local record
    record="$(ip netns exec "$name-cli" "$BIN/hermes-measure" --server "http://$address:8080" \
        --state-directory "$WORK/state-$rate")" || die "hermes-measure failed on the $rate Mbit/s link: $record"
    kill "$target" 2>/dev/null || true
    wait "$target" 2>/dev/null || true
    "$ROOT/scripts/lib/shaped-link" down "$name"
    trap cleanup EXIT

    local direction reference measured error
    for direction in download upload; do
        measured="$(jq -r ".${direction}_mbps" <<<"$record")"
        reference=$iperf_up
        [[ $direction == download ]] && reference=$iperf_down
        error="$(calc '(m > r ? m - r : r - m) / r * 100' m="$measured" r="$reference")"
        row "$rate Mbit/s link, $direction Mbit/s (error $(pretty "$error") %)" "$measured" "$reference" \
            "closer to 1" "within 2 %" "$(verdict "$error" "<=" 2)"
    done
    note "$rate Mbit/s link: tbf on each veth end; iperf3 one stream, 8 s after a 2 s warm-up; hermes-measure" \
        "with its defaults ($(jq -r '.streams' <<<"$record") streams, $(jq -r '.duration_ms / 1000' <<<"$record") s in all)."
}
