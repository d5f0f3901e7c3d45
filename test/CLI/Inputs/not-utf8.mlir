// not UTF-8: ÿþ
func.func @k() {
  return
}
