#!/bin/sh
# Stands in for an LLVM 22.1.8 tool that misbehaves as $DWMLIR_FAKE_TOOL says: "crash" kills
# itself with SIGSEGV; "hang" records "PID PPID" in $DWMLIR_FAKE_MARKERS/PID and sleeps.
case "$1" in --version) echo "LLVM version 22.1.8"; exit 0;; esac
case "$DWMLIR_FAKE_TOOL" in
  crash) kill -SEGV $$ ;;
  hang)
    if [ -n "$DWMLIR_FAKE_MARKERS" ]; then echo "$$ $PPID" > "$DWMLIR_FAKE_MARKERS/$$.tmp" && mv "$DWMLIR_FAKE_MARKERS/$$.tmp" "$DWMLIR_FAKE_MARKERS/$$"; fi
    exec sleep 300 ;;
esac
echo "fake-tool.sh: set DWMLIR_FAKE_TOOL to crash or hang" >&2
exit 1
