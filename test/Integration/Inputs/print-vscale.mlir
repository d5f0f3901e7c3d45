// Prints vscale (SVE vector length / 128 bits); lit-config.test runs it with the runtime
// library named the way upstream's lit.local.cfg files name it.
func.func @entry() {
  %vscale = vector.vscale
  %v = arith.index_cast %vscale : index to i64
  vector.print %v : i64
  return
}
