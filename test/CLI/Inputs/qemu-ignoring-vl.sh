#!/bin/sh
# Stands in for a qemu-aarch64 that ignores the SVE length it is asked for: runs
# $DWMLIR_REAL_QEMU with "-cpu max,sve-default-vector-length=N" as "-cpu max" (its default).
for a in "$@"; do
  shift
  case "$a" in
    max,sve-default-vector-length=*) set -- "$@" max ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec "$DWMLIR_REAL_QEMU" "$@"
