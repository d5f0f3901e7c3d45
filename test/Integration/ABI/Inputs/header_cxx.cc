// The headers of header-constants-supported.test, compiled as C++.
#include "vla.h"
#include "vls.h"

int main() { return vla_OUTPUT_SIZE + vls_INPUT_W + vla_supported() + vls_supported() > 0 ? 0 : 1; }
