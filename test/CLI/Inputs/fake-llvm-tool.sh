#!/bin/sh
# Stands in for an LLVM tool of the wrong version.
echo "Ubuntu LLVM version 14.0.6"
