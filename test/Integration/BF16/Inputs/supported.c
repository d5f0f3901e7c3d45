/* Prints what the kernel header's NAME_supported() says on this CPU. */
#include <stdio.h>
#include HEADER

int main(void) {
  printf("supported=%d\n", SUPPORTED());
  return 0;
}
