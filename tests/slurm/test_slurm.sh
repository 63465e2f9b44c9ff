#!/bin/sh
# A one-node Slurm cluster (munged, slurmctld, slurmd started here, in a
# temporary directory, on loopback ports) runs contrib/slurm/evalua-array.sbatch
# as a 3-task job array against the loopback test server; each task writes
# its own store file; `evalua runs merge` must give the run an unsharded
# process gives, with every row asked once. Exits 77 (ctest: skipped) with
# the reason when Slurm is not installed or its daemons cannot start here
# (not root, no munge, a container that forbids them).
set -u
skip() { echo "SKIPPED: slurm test: $*"; exit 77; }
fail() { echo "FAIL: slurm test: $*"; [ -n "${T:-}" ] && tail -n 20 "$T"/log/*.log 2>/dev/null; exit 1; }

BIN=${EVALUA_BIN:-build/evalua}
TS=${EVALUA_TESTSERVER:-build/evalua-testserver}
SRC=${EVALUA_SOURCE_DIR:-.}
for p in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
  [ -x "$p" ] || skip "$p not installed (Debian: slurmctld slurmd slurm-client munge)"
done
for c in sbatch sinfo munge; do
  command -v $c >/dev/null 2>&1 || skip "$c not installed"
done
[ "$(id -u)" = 0 ] || skip "slurmd needs root to start jobs here (running as uid $(id -u))"

T=$(mktemp -d /tmp/evalua-slurm.XXXXXX)
chmod 755 "$T"
PIDS=""
cleanup() {
  for f in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munge/munged.pid "$T"/ts.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT INT TERM
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log" "$T/shards"
chmod 700 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/munge/munge.key"
/usr/sbin/munged -f --socket="$T/munge/sock" --key-file="$T/munge/munge.key" \
  --log-file="$T/log/munged.log" --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/seed" \
  >/dev/null 2>&1 || skip "munged did not start: $(tail -n 3 "$T/log/munged.log" 2>/dev/null)"

# ports unlikely to be taken; a clash shows as a daemon that does not come up
BASE=$((20000 + $$ % 20000))
H=$(hostname)
cat > "$T/slurm.conf" <<CONF
ClusterName=evalua-test
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
SlurmctldPort=$BASE
SlurmdPort=$((BASE + 1))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$H NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$T/slurm.conf"
/usr/sbin/slurmctld -i >/dev/null 2>&1 || skip "slurmctld did not start: $(tail -n 3 "$T/log/slurmctld.log" 2>/dev/null)"
/usr/sbin/slurmd >/dev/null 2>&1 || skip "slurmd did not start: $(tail -n 3 "$T/log/slurmd.log" 2>/dev/null)"
up=""
for _ in $(seq 1 75); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || skip "the node did not become idle: $(sinfo 2>&1 | tail -n 2) $(tail -n 3 "$T/log/slurmd.log" 2>/dev/null)"

# the test server, and an eval script with a model and a judge
"$TS" --port 0 --port-file "$T/ts.port" --pid-file "$T/ts.pid" --latency-ms 5 --max-seconds 300 \
  >/dev/null 2>&1 &
for _ in $(seq 1 100); do [ -s "$T/ts.port" ] && break; sleep 0.05; done
[ -s "$T/ts.port" ] || fail "the test server did not start"
URL="http://127.0.0.1:$(cat "$T/ts.port")"
cat > "$T/ev.lua" <<'LUA'
local evalua = require "evalua"
local inputs = { n = 30 }
for i = 1, 30 do inputs[i] = "sentence number " .. i end
local quality = evalua.metrics.genai.make_genai_metric{ name = "quality",
  definition = "How good the answer is.", grading_prompt = "Score 1-5: 1 bad, 5 good.",
  model = "openai:/gpt-4", greater_is_better = true }
evalua.set_experiment("slurm")
local r = evalua.evaluate{ data = evalua.table.from({ { "user_input", inputs } }),
  model = evalua.openai.model{ model = "gpt-3.5-turbo", messages = { { role = "user", content = "{user_input}" } } },
  model_type = "text", extra_metrics = { quality }, evaluator_config = { col_mapping = { inputs = "user_input" } } }
print("RUN " .. tostring(r.run_id))
LUA
export OPENAI_API_KEY=test-key OPENAI_BASE_URL="$URL/v1" EVALUA_BIN="$BIN"
ABS_BIN=$(readlink -f "$BIN")

# the reference: one process
"$BIN" --no-cache --quiet --store "$T/ref.db" "$T/ev.lua" > "$T/ref.out" 2>&1 || fail "reference run: $(cat "$T/ref.out")"
REF=$(sed -n 's/^RUN //p' "$T/ref.out")
"$BIN" --store "$T/ref.db" runs export "$REF" --format jsonl > "$T/ref.jsonl" || fail "export"
curl -s -X POST "$URL/reset" >/dev/null

# the job array: three tasks, each its own store file (array ids from 0, as the docs allow)
cd "$T"
EVALUA="$ABS_BIN" EVALUA_SHARD_DIR="$T/shards" timeout 120 sbatch --wait --array=0-2 \
  -o "$T/shards/slurm-%A_%a.out" "$SRC/contrib/slurm/evalua-array.sbatch" --no-cache --quiet "$T/ev.lua" \
  > "$T/sbatch.out" 2>&1 || fail "sbatch: $(cat "$T/sbatch.out" "$T"/shards/*.out)"
ls "$T"/shards/shard-1.db "$T"/shards/shard-2.db "$T"/shards/shard-3.db >/dev/null || fail "one store per task: $(ls "$T/shards")"
REQ=$(curl -s "$URL/stats" | sed -n 's/.*"requests": *\([0-9]*\).*/\1/p' | head -n 1)
[ "$REQ" = 60 ] || fail "the array asked $REQ requests, not 60 (30 rows, model + judge)"

"$BIN" runs merge "$T"/shards/shard-*.db -o "$T/run.db" > "$T/merge.out" 2> "$T/merge.err" || fail "merge: $(cat "$T/merge.err")"
ID=$(cat "$T/merge.out")
"$BIN" --store "$T/run.db" runs export "$ID" --format jsonl > "$T/run.jsonl" || fail "export merged"
cmp -s "$T/ref.jsonl" "$T/run.jsonl" || fail "the merged run differs from the reference: $(diff "$T/ref.jsonl" "$T/run.jsonl" | head -n 5)"
REQ=$(curl -s "$URL/stats" | sed -n 's/.*"requests": *\([0-9]*\).*/\1/p' | head -n 1)
[ "$REQ" = 60 ] || fail "merging asked $((REQ - 60)) more requests"
echo "slurm test: 3 array tasks, 3 store files, merged run $ID equals the unsharded run"
