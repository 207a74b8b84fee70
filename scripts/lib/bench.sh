# The helpers every scripts/bench suite shares: building, the work directory, arithmetic, the
# result table, notes and the loopback receivers. Sourced by scripts/bench, not run.

die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}

# Builds release binaries of the given products with the bench's own scratch path; sets BIN.
build() {
    command -v swift >/dev/null || die "swift is not on PATH"
    local product log="$WORK/build.log"
    for product in "$@"; do
        step "building $product (release)"
        swift build --package-path "$ROOT" "${HERMES_RELEASE_BUILD[@]}" --scratch-path "$SCRATCH" --product "$product" >>"$log" 2>&1 ||
            { cat "$log" >&2; die "release build of $product failed"; }
    done
    BIN="$(swift build --package-path "$ROOT" "${HERMES_RELEASE_BUILD[@]}" --scratch-path "$SCRATCH" --show-bin-path)"
}

make_workdir() {
    WORK="$(mktemp -d /tmp/hermes-bench.XXXXXX)"
    trap cleanup EXIT
}

cleanup() {
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        step "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}

# Seconds, to the microsecond, that "$@" takes; its stdout is discarded.
seconds_of() {
    local start=$EPOCHREALTIME
    "$@" >/dev/null
    local end=$EPOCHREALTIME
    awk -v start="$start" -v end="$end" 'BEGIN { printf "%.6f", end - start }'
}

# calc EXPRESSION [name=value...]: floating-point arithmetic, printed with %.6g.
calc() {
    local expression=$1
    shift
    local assignments=()
    local pair
    for pair in "$@"; do assignments+=(-v "$pair"); done
    awk "${assignments[@]}" "BEGIN { printf \"%.6g\", ($expression) }"
}

# The value of KEY in a `key=value key=value` line from hermes-bench.
field() {
    local key=$1 line=$2 word
    for word in $line; do
        [[ $word == "$key="* ]] && { printf '%s' "${word#*=}"; return; }
    done
    die "hermes-bench printed no $key in: $line"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

count_rows() { sqlite3 "$1" 'SELECT count(*) FROM results'; }

expect_equal() {
    local what=$1 expected=$2 actual=$3
    [[ $expected == "$actual" ]] || die "$what: expected $expected, got $actual; the measurement is not valid"
}

machine_summary() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
    echo "machine:  $(nproc) cores${cpu:+, $cpu}, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
    # The references a suite compares with, where they are installed (a suite installs its own).
    local tools=("$(swift --version 2>&1 | head -n 1)")
    command -v sqlite3 >/dev/null && tools+=("sqlite3 $(sqlite3 --version | cut -d' ' -f1)")
    command -v curl >/dev/null && tools+=("$(curl --version | head -n 1 | cut -d' ' -f1-2)")
    command -v iperf3 >/dev/null && tools+=("$(iperf3 --version | head -n 1 | cut -d' ' -f1-2)")
    command -v hyperfine >/dev/null && tools+=("$(hyperfine --version)")
    local joined
    printf -v joined '%s, ' "${tools[@]}"
    echo "tools:    ${joined%, }"
    echo "work dir: $WORK ($(stat -f -c %T "$WORK") file system), $(date -u +%Y-%m-%dT%H:%MZ)"
}

# ---- the table ---------------------------------------------------------------------------------

TABLE="" # rows of tab-separated cells

# row LABEL HERMES SQLITE BETTER TARGET VERDICT: HERMES and SQLITE are numbers or "-".
row() {
    local label=$1 hermes=$2 reference=$3 better=$4 target=$5 verdict=$6 ratio="-" figure
    for figure in "$hermes" "$reference"; do
        [[ $figure == "-" || $figure =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] ||
            die "\"$label\" measured \"$figure\", which is not a number; the measurement is not valid"
    done
    if [[ $hermes != "-" && $reference != "-" ]]; then
        ratio="$(calc 'h / s' h="$hermes" s="$reference")"
    fi
    TABLE+="$label"$'\t'"$(pretty "$hermes")"$'\t'"$(pretty "$reference")"$'\t'"$(pretty "$ratio")"$'\t'"$better"$'\t'"$target"$'\t'"$verdict"$'\n'
}

# Numbers ≥ 1000 as integers with thousands separators, smaller ones with 3 significant digits.
pretty() {
    [[ $1 == "-" ]] && { printf -- '-'; return; }
    awk -v x="$1" 'BEGIN {
        if (x >= 1000) {
            s = sprintf("%.0f", x); out = ""
            while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
            printf "%s%s", s, out
        } else if (x >= 100) printf "%.0f", x
        else if (x >= 10) printf "%.1f", x
        else if (x >= 1) printf "%.2f", x
        else printf "%.3g", x
    }'
}

# PASS or MISS for VALUE against a target; OP is >= or <=.
verdict() {
    local value=$1 op=$2 limit=$3
    awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print ok ? "PASS" : "MISS" }'
}

REFERENCE=sqlite3 # the reference column's name

print_table() {
    printf 'measurement\thermes\t%s\thermes/%s\tbetter if\ttarget\tverdict\n%s' "$REFERENCE" "$REFERENCE" "$TABLE" | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) } rows = NR; cols = NF }
        END {
            for (r = 1; r <= rows; r++) {
                line = "|"
                for (i = 1; i <= cols; i++) {
                    right = (i >= 2 && i <= 4 && r > 1)
                    line = line " " sprintf(right ? "%" width[i] "s" : "%-" width[i] "s", cell[r, i]) " |"
                }
                print line
                if (r == 1) {
                    line = "|"
                    for (i = 1; i <= cols; i++) {
                        dashes = ""; for (d = 0; d < width[i]; d++) dashes = dashes "-"
                        line = line (i >= 2 && i <= 4 ? " " substr(dashes, 2) ": |" : " " dashes " |")
                    }
                    print line
                }
            }
        }'
}


NOTES=()
note() { NOTES+=("$(printf -- '- %s' "$*" | fold -s -w 100 | sed -e 's/ *$//' -e '2,$s/^/  /')"); }

# The figures of several runs, for the notes.
each_pretty() {
    local figure out=()
    for figure in "$@"; do out+=("$(pretty "$figure")"); done
    printf '%s' "${out[*]}"
}

# Starts `hermes-bench receive` with "$@" and sets <NAME>_PID and <NAME>_PORT once it listens.
start_receiver() {
    local name=$1
    shift
    local port_file="$WORK/$name.port"
    rm -f "$port_file"
    "$BIN/hermes-bench" receive --port-file "$port_file" "$@" &
    printf -v "${name}_PID" '%s' "$!"
    local tries=0
    until [[ -s $port_file ]]; do
        ((tries++ < 200)) || die "the $name receiver did not start"
        sleep 0.05
    done
    printf -v "${name}_PORT" '%s' "$(cat "$port_file")"
}

stop_receiver() {
    local pid
    for pid in "$@"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# The suite's report on stdout: its title, the machine, the table, the lines given after the
# start time (how to read the ratios), the notes, and the time the whole suite took.
print_report() {
    local title=$1 started=$2 line
    shift 2
    echo "## $title"
    echo
    machine_summary
    echo
    print_table
    echo
    for line in "$@"; do echo "$line"; done
    printf '%s\n' "${NOTES[@]}"
    echo "whole suite, build included: $(pretty "$(calc 'e - s' e="$EPOCHREALTIME" s="$started")") s."
}
