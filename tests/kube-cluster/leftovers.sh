#!/usr/bin/env bash
# leftovers.sh DIR: prints the host state a test cluster in DIR may change (processes and mounts
# that name DIR, network interfaces and namespaces, the clusters' cgroups, iptables rules, the
# sysctls the kubelet sets, the kubelet's fixed log directories). Taken before `scripts/cluster up`
# and after `scripts/cluster down`, the two must be equal:
#   before=$(tests/kube-cluster/leftovers.sh "$DIR"); …; diff <(echo "$before") <(tests/kube-cluster/leftovers.sh "$DIR")
set -euo pipefail
DIR=${1:?usage: leftovers.sh DIR}
for p in /proc/[0-9]*; do
  [[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
  c=$(tr "\0" " " 2>/dev/null <"$p/cmdline") || continue
  [[ $c == *"$DIR/"* && $c != *leftovers.sh* ]] && echo "process ${p#/proc/}: $c"
done
findmnt -rn -o TARGET | grep -F "$DIR" | sed 's/^/mount /' || true
ip -o link show | awk -F': ' '{print "link " $2}' | cut -d@ -f1
ip netns list 2>/dev/null | sed 's/^/netns /'
find /sys/fs/cgroup/ -mindepth 2 -maxdepth 2 -type d -name 'mosaic-cluster-*' | sed 's/^/cgroup /'
for t in filter nat mangle; do
  iptables-save -t "$t" 2>/dev/null | grep -v '^#' | sed -E "s/\[[0-9]+:[0-9]+\]//; s/^/ip4 $t /" || true
  ip6tables-save -t "$t" 2>/dev/null | grep -v '^#' | sed -E "s/\[[0-9]+:[0-9]+\]//; s/^/ip6 $t /" || true
done
for s in vm.overcommit_memory kernel.panic kernel.panic_on_oops; do echo "sysctl $s=$(sysctl -n "$s")"; done
for d in /var/log/pods /var/log/containers; do
  if [[ -d $d ]]; then echo "dir $d"; ls -A "$d" | sed "s|^|entry $d/|"; fi
done
