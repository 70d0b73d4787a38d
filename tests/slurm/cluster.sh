#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for `make test-slurm` (tests/test_slurm.py).
#
#   tests/slurm/cluster.sh check     exit 0 if this machine can run it (root, apt-get or the daemons present)
#   tests/slurm/cluster.sh install   Debian packages: slurm-wlm (slurmctld, slurmd, clients), munge, slurmdbd and
#                                    mariadb-server (sacct needs the accounting database)
#   tests/slurm/cluster.sh start     write the cluster's config and start munged, MariaDB, slurmdbd, slurmctld
#                                    and slurmd
#   tests/slurm/cluster.sh stop      stop exactly the daemons `start` started (their pid files), nothing else
#
# The config files go where SLURM's tools look for them, /etc/slurm (job steps ignore SLURM_CONF: the Snakemake
# job-step plugin drops every SLURM_* variable); `start` refuses to overwrite files it did not write there, and
# `stop` removes its own. Everything else lives in $SLURM_TEST_DIR (default /tmp/superposition-slurm): state, logs,
# the database. The node is this machine with its real CPU count; its memory is declared large
# (SlurmdParameters=config_overrides) and it carries two fake GPUs (gres gpu bound to /dev/null and /dev/zero), so
# that jobs are scheduled by what the rules request, as on a cluster: nothing enforces the memory (no cgroups) and
# no job touches a GPU (the smoke tier runs on CPU).
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/superposition-slurm}
ETC=/etc/slurm
MARK="# Written by tests/slurm/cluster.sh"
CONFIGS=(slurm.conf gres.conf slurmdbd.conf)
NODE=$(hostname -s)
CPUS=$(nproc)
FAKE_MEMORY_MB=${SLURM_TEST_MEMORY_MB:-1024000}
FAKE_GPU_FILES=(/dev/null /dev/zero)   # two fake GPUs: slurmd wants a device file per GPU, never opened here
PACKAGES=(slurm-wlm slurm-client munge slurmdbd mariadb-server)
DAEMONS=(slurmd slurmctld slurmdbd mariadb munged)   # stop order

log() { printf 'slurm-cluster: %s\n' "$*" >&2; }

check() {
    if [ "$(id -u)" != 0 ]; then
        echo "not root: installing packages and starting SLURM's daemons need root"; return 1
    fi
    local tool
    for tool in slurmctld slurmd slurmdbd munged mariadbd sbatch sacct; do
        if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
            if ! command -v apt-get >/dev/null; then
                echo "no apt-get and no $tool: this is not a Debian-like machine"; return 1
            fi
            if ! timeout 300 apt-get update -qq -o DPkg::Lock::Timeout=120 >/dev/null 2>&1; then
                echo "apt-get update failed: the Debian package sources are not reachable from this machine"
                return 1
            fi
            if ! apt-get install --simulate -qq "${PACKAGES[@]}" >/dev/null 2>&1; then
                echo "the Debian packages ${PACKAGES[*]} are not installable from this machine's apt sources"
                return 1
            fi
            break
        fi
    done
    return 0
}

install() {
    if command -v sbatch >/dev/null && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmdbd ] \
        && [ -x /usr/sbin/munged ] && [ -x /usr/sbin/mariadbd ]; then
        log "packages already installed: slurm-wlm $(dpkg-query -W -f '${Version}' slurm-wlm)"; return 0
    fi
    log "installing ${PACKAGES[*]} (apt-get)"
    apt-get update -qq -o DPkg::Lock::Timeout=600
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        "${PACKAGES[@]}" >/dev/null
    log "installed slurm-wlm $(dpkg-query -W -f '${Version}' slurm-wlm)"
}

write_config() {
    mkdir -p "$DIR"/{state,spool,log,run,mysql} "$ETC"
    local name
    for name in "${CONFIGS[@]}"; do
        if [ -e "$ETC/$name" ] && ! grep -qF "$MARK" "$ETC/$name"; then
            log "$ETC/$name exists and was not written by this script: not touching a configured SLURM"; return 1
        fi
    done
    cat > "$ETC/slurm.conf" <<EOF
$MARK: one node, this machine.
ClusterName=superposition
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# The declared memory and GPUs are scheduled, not checked against the hardware.
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
# sacct shows the comment that the Snakemake plugin gives each job (rule_<rule>_wildcards_<values>).
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$FAKE_MEMORY_MB Gres=gpu:${#FAKE_GPU_FILES[@]} State=UNKNOWN
# The partitions the project's slurm profile names (workflow/profiles/slurm): both on the one node.
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
EOF
    # Fake GPUs: counted and scheduled; their "devices" are harmless character files.
    local file
    { echo "$MARK"; for file in "${FAKE_GPU_FILES[@]}"; do echo "NodeName=$NODE Name=gpu File=$file"; done; } \
        > "$ETC/gres.conf"
    cat > "$ETC/slurmdbd.conf" <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=superposition_slurm_acct
EOF
    chmod 600 "$ETC/slurmdbd.conf"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            log "timed out waiting for $what; logs in $DIR/log"; tail -n 20 "$DIR"/log/*.log >&2 || true; return 1
        fi
        sleep 0.5
    done
}

running() { [ -f "$DIR/run/$1.pid" ] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

start() {
    write_config
    export SLURM_CONF=$ETC/slurm.conf
    # munge: the package's key; the daemon runs as the munge user, as under systemd.
    if ! running munged; then
        [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
        mkdir -p /run/munge && chown munge:munge /run/munge
        touch "$DIR/log/munged.log" && chown munge "$DIR/log/munged.log"
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid \
            --log-file="$DIR/log/munged.log" --socket=/run/munge/munge.socket.2
        wait_for 20 munged test -s /run/munge/munged.pid
        cp /run/munge/munged.pid "$DIR/run/munged.pid"
    fi
    wait_for 20 "munge credentials" bash -c 'munge -n | unmunge'
    # MariaDB: a private data folder; the default socket, where slurmdbd's client library looks.
    if ! running mariadb; then
        if [ ! -d "$DIR/mysql/mysql" ]; then
            mariadb-install-db --user=root --datadir="$DIR/mysql" --auth-root-authentication-method=socket \
                >"$DIR/log/mariadb-install.log" 2>&1
        fi
        mkdir -p /run/mysqld
        /usr/sbin/mariadbd --user=root --datadir="$DIR/mysql" --socket=/run/mysqld/mysqld.sock \
            --skip-networking --pid-file="$DIR/run/mariadb.pid" --log-error="$DIR/log/mariadb.log" &
        wait_for 60 MariaDB mariadb --socket=/run/mysqld/mysqld.sock -e 'select 1'
    fi
    if ! running slurmdbd; then
        /usr/sbin/slurmdbd
        wait_for 60 slurmdbd sacctmgr -i list cluster
        # The cluster must exist in the database before slurmctld registers (root's account comes with it).
        local clusters
        clusters=$(sacctmgr -i -n -P list cluster format=cluster)
        grep -qw superposition <<<"$clusters" || sacctmgr -i add cluster superposition >/dev/null
    fi
    if ! running slurmctld; then
        rm -rf "$DIR/state" "$DIR/spool" && mkdir -p "$DIR/state" "$DIR/spool"   # a fresh cluster, no old jobs
        /usr/sbin/slurmctld -f "$SLURM_CONF"
        wait_for 60 slurmctld scontrol ping
    fi
    if ! running slurmd; then
        /usr/sbin/slurmd -f "$SLURM_CONF"
    fi
    wait_for 60 "the node to register" bash -c "sinfo -h -N -o '%T' | grep -vqx unknown"
    # A node drained earlier (say, by a gres.conf that did not match) comes back once its config is right.
    if sinfo -h -N -o '%T' | grep -q -e drain -e inval; then scontrol update NodeName="$NODE" State=RESUME; fi
    wait_for 60 "the node to become idle" bash -c "sinfo -h -N -o '%T' | grep -qx idle"
    log "cluster up: $(sinfo -h -N -p cpu -o '%N %T cpus=%c mem=%m gres=%G')"
}

stop() {
    local daemon pid
    for daemon in "${DAEMONS[@]}"; do
        [ -f "$DIR/run/$daemon.pid" ] || continue
        pid=$(cat "$DIR/run/$daemon.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -0 "$pid" 2>/dev/null && { log "$daemon ($pid) ignores SIGTERM; SIGKILL"; kill -9 "$pid"; }
            log "stopped $daemon ($pid)"
        fi
        rm -f "$DIR/run/$daemon.pid"
    done
    local name
    for name in "${CONFIGS[@]}"; do
        if [ -e "$ETC/$name" ] && grep -qF "$MARK" "$ETC/$name"; then rm -f "$ETC/$name"; fi
    done
}

case "${1:-}" in
    check) check ;;
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 check|install|start|stop" >&2; exit 2 ;;
esac
