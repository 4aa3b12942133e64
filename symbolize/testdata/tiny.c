// Source of the ELF seeds in testdata/fuzz/FuzzELF (a 3 KB shared object):
//   gcc -Os -nostdlib -shared -fPIC -Wl,--build-id -Wl,-z,noseparate-code \
//       -Wl,-z,max-page-size=64 -Wl,-z,common-page-size=64 -o tiny.so tiny.c
// then encoded in the go test fuzz v1 format with the address to look up.
int tiny_alpha(int x) { return x * 3 + 1; }
int tiny_beta(int x) { return tiny_alpha(x) ^ 5; }
static int tiny_local(int x) { return tiny_beta(x) - 2; }
int (*keep)(int) = tiny_local;
