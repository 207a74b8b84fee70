# scripts/bench measure: hermes-measure against curl on loopback and iperf3 on shaped links.
# Sourced by scripts/bench.

suite_measure() {
    local gib=${BENCH_GIB:-4}
    [[ $gib =~ ^[1-9][0-9]*$ ]] || die "BENCH_GIB must be a whole number of GiB, got $gib"
    ensure_packages jq time iperf3 iproute2 nginx-light gcc
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
    if [[ -n $loopback_table ]]; then
        print_table
        echo
    fi
    if [[ -n $shaped_table ]]; then
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

# Starts a server in the background, waits for it to print "listening on 127.0.0.1:PORT" on
# stderr into LOG, and sets SERVER_PID and SERVER_URL.
start_server() {
    local log=$1 port waited=0
    shift
    "$@" 2>"$log" &
    SERVER_PID=$!
    until port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")" && [[ -n $port ]]; do
        ((waited++ < 100)) || die "$1 did not start: $(cat "$log")"
        sleep 0.05
    done
    SERVER_URL="http://127.0.0.1:$port"
}

# nginx serving a 10^8-byte static file for every /__down (it ignores ?bytes=, so every request
# is that file whole) and discarding POST bodies at /__up; as SERVER_PID and SERVER_URL.
start_nginx() {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    mkdir -p "$WORK/nginx"
    head -c 100000000 /dev/urandom >"$WORK/nginx/blob"
    # As root, nginx's workers would be www-data, which cannot enter the private work directory.
    local user=""
    [[ $(id -u) == 0 ]] && user="user root;"
    cat >"$WORK/nginx/nginx.conf" <<CONF
$user
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http {
    access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
    server {
        listen 127.0.0.1:$port reuseport;
        location = /__down {
            if (\$arg_bytes = "0") { return 200 ""; }
            default_type application/octet-stream;
            add_header Cache-Control no-store;
            alias $WORK/nginx/blob;
        }
        location = /__up { client_max_body_size 0; return 200 ""; }
    }
}
CONF
    /usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr" &
    SERVER_PID=$!
    local waited=0
    until curl -sf -o /dev/null "http://127.0.0.1:$port/__down?bytes=0"; do
        ((waited++ < 100)) || die "nginx did not start: $(cat "$WORK/nginx/stderr" "$WORK/nginx/error.log")"
        sleep 0.05
    done
    SERVER_URL="http://127.0.0.1:$port"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# hermes-measure and curl against each of three servers on loopback (hermes-target, the minimal C
# server of scripts/lib/bench-server.c, nginx with a static file), each direction, BENCH_RUNS
# times each, interleaved, so that a slow spell of the host falls on both; the medians go in the
# table. curl moves the bytes hermes-measure moved, over as many connections.
measure_loopback() {
    local gib=$1 bytes=$(($1 * 1073741824)) runs=${BENCH_RUNS:-3}
    [[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a whole number, got $runs"
    local -a servers
    read -r -a servers <<<"${BENCH_SERVERS-hermes-target bench-server nginx}"
    ((${#servers[@]} > 0)) || return 0
    cc -O2 -pthread -o "$WORK/bench-server" "$ROOT/scripts/lib/bench-server.c" || die "cannot compile bench-server.c"
    head -c 100000000 /dev/urandom >"$WORK/upload.bin"
    local server
    for server in "${servers[@]}"; do
        case $server in
        hermes-target) start_server "$WORK/target.log" "$BIN/hermes-target" --listen 127.0.0.1:0 ;;
        bench-server) start_server "$WORK/bench-server.log" "$WORK/bench-server" ;;
        nginx) start_nginx ;;
        *) die "BENCH_SERVERS names hermes-target, bench-server and nginx, not $server" ;;
        esac
        local url=$SERVER_URL direction
        for direction in download upload; do
            local skip=--no-upload
            [[ $direction == upload ]] && skip=--no-download
            local -a hermes_rates=() hermes_cpus=() curl_rates=() curl_cpus=()
            local run streams="" reported=""
            for ((run = 1; run <= runs; run++)); do
                step "$server $direction, run $run of $runs: hermes-measure, $gib GiB"
                local measured record moved
                measured="$(cpu_and_wall "$BIN/hermes-measure" --server "$url" "$skip" --max-bytes "$bytes" \
                    --duration 60 --timeout 120 --state-directory "$WORK/state")"
                record="$(cat "$WORK/out.txt")"
                streams="$(jq -r '.streams' <<<"$record")"
                moved="$(jq -r ".${direction}_bytes" <<<"$record")"
                reported="$(jq -r ".${direction}_mbps" <<<"$record")"
                [[ $moved =~ ^[0-9]+$ && $streams =~ ^[0-9]+$ ]] || die "hermes-measure printed no result: $record"
                local hermes_cpu hermes_wall
                read -r hermes_cpu hermes_wall <<<"$measured"
                hermes_rates+=("$(calc 'b * 8 / w / 1e6' b="$moved" w="$hermes_wall")")
                hermes_cpus+=("$(calc 'c / (b / 1073741824)' c="$hermes_cpu" b="$moved")")

                step "$server $direction, run $run of $runs: curl, $moved bytes over $streams connections"
                local each=$((moved / streams)) i script="" requests
                for ((i = 0; i < streams; i++)); do
                    if [[ $direction == download ]]; then
                        # One connection each, as hermes-measure's streams; nginx sends its whole file
                        # for every request, so there it takes as many requests as fill the share.
                        if [[ $server == nginx ]]; then
                            requests=$(((each + 99999999) / 100000000))
                            script+="curl -sf -o /dev/null '$url/__down?bytes=$each&i=[1-$requests]' & "
                        else
                            script+="curl -sf -o /dev/null '$url/__down?bytes=$each' & "
                        fi
                    else
                        requests=$(((each + 99999999) / 100000000))
                        script+="curl -sf -o /dev/null -H 'Expect:' -X POST -T '$WORK/upload.bin' '$url/__up?i=[1-$requests]' & "
                    fi
                done
                local reference curl_cpu curl_wall curl_bytes=$((each * streams))
                if [[ $direction == upload || $server == nginx ]]; then
                    curl_bytes=$((streams * ((each + 99999999) / 100000000) * 100000000))
                fi
                reference="$(cpu_and_wall bash -c "$script wait")"
                read -r curl_cpu curl_wall <<<"$reference"
                curl_rates+=("$(calc 'b * 8 / w / 1e6' b="$curl_bytes" w="$curl_wall")")
                curl_cpus+=("$(calc 'c / (b / 1073741824)' c="$curl_cpu" b="$curl_bytes")")
            done
            local hermes_rate curl_rate hermes_per_gib curl_per_gib
            hermes_rate="$(median "${hermes_rates[@]}")"
            curl_rate="$(median "${curl_rates[@]}")"
            hermes_per_gib="$(median "${hermes_cpus[@]}")"
            curl_per_gib="$(median "${curl_cpus[@]}")"
            row "$server: $direction Mbit/s, wall clock ($streams streams)" "$hermes_rate" "$curl_rate" higher \
                ">= 1.0x curl" "$(verdict "$(calc 'h / c' h="$hermes_rate" c="$curl_rate")" ">=" 1.0)"
            row "$server: $direction client CPU s per GiB" "$hermes_per_gib" "$curl_per_gib" lower "<= 1.0x curl" \
                "$(verdict "$(calc 'h / c' h="$hermes_per_gib" c="$curl_per_gib")" "<=" 1.0)"
            note "$server $direction: hermes-measure runs $(each_pretty "${hermes_rates[@]}") Mbit/s and" \
                "$(each_pretty "${hermes_cpus[@]}") CPU s/GiB; curl $(each_pretty "${curl_rates[@]}") Mbit/s and" \
                "$(each_pretty "${curl_cpus[@]}") CPU s/GiB; hermes-measure's own steady-window figure of the" \
                "last run: $(pretty "$reported") Mbit/s."
        done
        stop_server
    done
    note "loopback: one host, 2 cores shared by client and server; CPU is the client's user + system" \
        "time from /usr/bin/time (curl: all its processes, writing what it receives to /dev/null). The" \
        "table's rates are bytes over the whole process's wall time for both (start-up, hermes-measure's" \
        "latency test, slow start included); medians of $runs interleaved runs each. nginx sends its" \
        "10^8-byte file whole for every download request and reads upload bodies 4 KiB at a time."
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
        --no-responsiveness --state-directory "$WORK/state-$rate")" || die "hermes-measure failed on the $rate Mbit/s link: $record"
    # The responsiveness test's probes cost at most 5 % of the goodput: its load's goodput while
    # probing against the same run's throughput test, which has no foreign probes.
    local probed="" probing direction measured
    if [[ $rate == 500 ]]; then
        probed="$(ip netns exec "$name-cli" "$BIN/hermes-measure" --server "http://$address:8080" \
            --state-directory "$WORK/state-$rate" --responsiveness sequential --responsiveness-interval 1s \
            --responsiveness-duration 12s 2>"$WORK/responsiveness-$rate.txt")" ||
            die "hermes-measure --responsiveness failed on the $rate Mbit/s link: $(cat "$WORK/responsiveness-$rate.txt")"
    fi
    kill "$target" 2>/dev/null || true
    wait "$target" 2>/dev/null || true
    "$ROOT/scripts/lib/shaped-link" down "$name"
    trap cleanup EXIT
    if [[ -n $probed ]]; then
        for direction in download upload; do
            local doing=downloading
            [[ $direction == upload ]] && doing=uploading
            probing="$(sed -n "s/.*responsiveness while $doing: .* connections at \([0-9.]*\) Mbit\/s).*/\1/p" \
                "$WORK/responsiveness-$rate.txt")"
            [[ -n $probing ]] || die "no responsiveness line for the $direction: $(cat "$WORK/responsiveness-$rate.txt")"
            measured="$(jq -r ".${direction}_mbps" <<<"$probed")"
            row "$rate Mbit/s link, $direction goodput while probing / throughput test" "$probing" "$measured" \
                higher ">= 0.95x" "$(verdict "$(calc 'p / m' p="$probing" m="$measured")" ">=" 0.95)"
        done
        note "$rate Mbit/s link, responsiveness: $(jq -r '"\(.download_responsiveness_rpm) RPM down, \(.upload_responsiveness_rpm) up, \(.responsiveness_confidence) confidence"' <<<"$probed");" \
            "goodput of the responsiveness test's load (foreign probes on new connections alongside) against" \
            "the same run's throughput test (1 s intervals)."
    fi

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
