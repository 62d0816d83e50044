#!/usr/bin/env bash
# Executes every notebook against the --quick results folders so the notebooks never rot.
#
#   notebooks/run_all.sh DIR [OUT]
#
# DIR holds one folder per experiment, named quick-<experiment> (as written by
# `streamlab experiment <experiment> --quick --out DIR/quick-<experiment>`), and optionally
# quick-bench (`streamlab bench ... --out DIR/quick-bench`). Each notebook runs with
# STREAMLAB_RESULTS pointing at its folder; the executed copies go to OUT (default: a new
# temporary directory), never over the committed notebooks. The figures (fig-*.png) land in
# the results folders. Exits non-zero if a folder is missing, a notebook fails, or a notebook
# saved no figure. Needs `jupyter` (pip install -r notebooks/requirements.txt) on PATH, or
# JUPYTER=/path/to/jupyter.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! -d $1 ]]; then
    echo "usage: $0 DIR_WITH_QUICK_RESULTS [OUT_DIR]" >&2
    exit 2
fi
dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/streamlab-notebooks.XXXXXX")}
mkdir -p "$out"
jupyter=${JUPYTER:-jupyter}
command -v "$jupyter" >/dev/null || { echo "$0: '$jupyter' not found (pip install -r notebooks/requirements.txt)" >&2; exit 2; }

experiments=(latency-throughput trigger-sweep watermark-accuracy output-modes time-domains scaling recovery checkpoint-interval ysb nexmark)
# Optional: a bench folder, kafka-logs (needs a Kafka broker, so CI may not have it) and
# peers (needs pyspark and apache-flink).
for optional in bench kafka-logs peers; do
    if [[ -d $dir/quick-$optional ]]; then
        experiments+=("$optional")
    else
        echo "note: no $dir/quick-$optional, $optional.ipynb not run"
    fi
done

failed=()
for name in "${experiments[@]}"; do
    folder=$dir/quick-$name
    notebook=$here/$name.ipynb
    if [[ ! -d $folder ]]; then
        echo "FAIL $name: no results folder $folder" >&2
        failed+=("$name")
        continue
    fi
    rm -f "$folder"/fig-*.png
    echo "== $name.ipynb on $folder"
    if ! STREAMLAB_RESULTS=$folder "$jupyter" nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=600 --output-dir "$out" "$notebook"; then
        echo "FAIL $name: notebook raised (see above)" >&2
        failed+=("$name")
        continue
    fi
    shopt -s nullglob
    figs=("$folder"/fig-*.png)
    shopt -u nullglob
    if [[ ${#figs[@]} -eq 0 ]]; then
        echo "FAIL $name: no fig-*.png saved in $folder" >&2
        failed+=("$name")
        continue
    fi
    echo "ok   $name: ${#figs[@]} figure(s): $(cd "$folder" && echo fig-*.png)"
done

echo "executed notebooks in $out"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all ${#experiments[@]} notebooks ran"
