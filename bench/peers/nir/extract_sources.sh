#!/usr/bin/env bash
# Extract the pinned peer-library sources used by generate.py into $PEERS_DIR
# (default scratch/peers in the repository, which git ignores). Nothing is installed; generate.py puts these folders on
# sys.path.
#
# Each source is a bare git directory (what the session `fetch` tool returns,
# ../.mirror/<owner>+<name>/repo beside the repository, or any `git clone --bare` of the repo).
# Override the locations with MIRROR_<NAME>=/path/to/git-dir.
#
# NIR and snnTorch snapshots lack some large binary blobs (paper data, docs
# images), so `git archive HEAD` of the whole tree fails half-way; we archive
# only the python package folders we need.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
PEERS_DIR=${PEERS_DIR:-$REPO/scratch/peers}
MIRROR_ROOT=${MIRROR_ROOT:-$REPO/../.mirror}

# name | default git dir | paths to archive | pinned commit
SOURCES=(
  "NIR|$MIRROR_ROOT/neuromorphs+NIR/repo|nir|7232ada6d30e1beea78b180a5135b1a3bb3d3bc0"
  "nirtorch|$MIRROR_ROOT/neuromorphs+NIRTorch/repo|nirtorch|2604ce2bc9ab74843c840a547bd0ff61a97c447f"
  "snntorch|$MIRROR_ROOT/jeshraghian+snntorch/repo|snntorch|634fc22385ec5581998e62787bbe39b53662140f"
  "norse|$MIRROR_ROOT/norse+norse/repo|norse|065a3b45cf13bc8156d18987380f6d26c09f08a2"
  "sinabs|$MIRROR_ROOT/synsense+sinabs/repo|sinabs|904eb89398cc4006af4a8ec2d5b7e48fc17b4ba1"
  "spikingjelly|$MIRROR_ROOT/fangwei123456+spikingjelly/repo|spikingjelly|afb132264a8cbe38d0f221dcef04053e6ba134d3"
)

mkdir -p "$PEERS_DIR"
for entry in "${SOURCES[@]}"; do
  IFS='|' read -r name gitdir paths pinned <<<"$entry"
  var="MIRROR_$(echo "$name" | tr '[:lower:]' '[:upper:]')"
  gitdir=${!var:-$gitdir}
  head=$(git --git-dir="$gitdir" rev-parse HEAD)
  rev=$pinned
  if ! git --git-dir="$gitdir" cat-file -e "$pinned^{commit}" 2>/dev/null; then
    echo "WARNING: $name: pinned commit $pinned not in $gitdir; using HEAD $head" >&2
    rev=$head
  fi
  rm -rf "${PEERS_DIR:?}/$name"
  mkdir -p "$PEERS_DIR/$name"
  # shellcheck disable=SC2086
  git --git-dir="$gitdir" archive "$rev" $paths | tar -x -C "$PEERS_DIR/$name"
  git --git-dir="$gitdir" rev-parse "$rev" >"$PEERS_DIR/$name/.commit"
  echo "$name $(cat "$PEERS_DIR/$name/.commit") -> $PEERS_DIR/$name"
done
