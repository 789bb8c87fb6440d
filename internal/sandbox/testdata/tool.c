// tool is the test guest of internal/sandbox: one module, many behaviours,
// picked by argv[1]. Built by build.sh; the .wasm is committed beside it.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// The raw WASI import, so paths can carry NUL bytes and odd lengths.
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                      int32_t oflags, int64_t rights_base, int64_t rights_inh,
                      int32_t fdflags, int32_t retfd);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_read")))
int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nread);

static int cat_fd(int fd) {
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) return 0;
    if (n < 0) { fprintf(stderr, "read: %s\n", strerror(errno)); return 1; }
    if (fwrite(buf, 1, n, stdout) != (size_t)n) return 1;
  }
}

// try opens path (len bytes) below preopen dirfd, reporting the result.
static void try_open(const char *what, int dirfd, const char *path, int len, int create) {
  int32_t fd = -1;
  int32_t oflags = create ? 1 /* O_CREAT */ : 0;
  int32_t err = raw_path_open(dirfd, 0, (int32_t)(intptr_t)path, len, oflags,
                              create ? 0x40 /* fd_write */ : 0x2 /* fd_read */, 0, 0,
                              (int32_t)(intptr_t)&fd);
  if (err != 0) { printf("DENIED %s errno=%d\n", what, err); return; }
  char buf[64] = {0};
  struct { int32_t p; int32_t n; } iov = {(int32_t)(intptr_t)buf, sizeof buf - 1};
  int32_t nread = 0;
  raw_fd_read(fd, (int32_t)(intptr_t)&iov, 1, (int32_t)(intptr_t)&nread);
  for (int i = 0; i < nread; i++) if (buf[i] == '\n') buf[i] = ' ';
  printf("OPENED %s: %s\n", what, buf);
  close(fd);
}

static void try_libc(const char *path, int flags) {
  int fd = open(path, flags, 0644);
  if (fd < 0) { printf("DENIED libc %s: %s\n", path, strerror(errno)); return; }
  char buf[64] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  for (int i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = ' ';
  printf("OPENED libc %s: %s\n", path, n > 0 ? buf : "");
  close(fd);
}

static void escape(void) {
  char longname[5000];
  memset(longname, 'a', sizeof longname);
  const char *rel[] = {"../../etc/passwd", "..", "../", "/etc/passwd", "//etc/passwd",
                       "x/../../etc/passwd", "./../etc/passwd", "data.txt/../../../etc/passwd",
                       "\xff\xfe/../etc/passwd", "..%2f..%2fetc%2fpasswd", "proc/self/environ"};
  const char *dirs[] = {"in", "out", "tmp"};
  char what[256];
  for (int d = 0; d < 3; d++) {
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
      snprintf(what, sizeof what, "%s:%s", dirs[d], rel[i]);
      try_open(what, 3 + d, rel[i], strlen(rel[i]), 0);
      snprintf(what, sizeof what, "create %s:%s", dirs[d], rel[i]);
      try_open(what, 3 + d, rel[i], strlen(rel[i]), 1);
    }
    snprintf(what, sizeof what, "%s:nul", dirs[d]);
    try_open(what, 3 + d, "data.txt\0/../../etc/passwd", 26, 0);
    snprintf(what, sizeof what, "%s:long300", dirs[d]);
    try_open(what, 3 + d, longname, 300, 1);
    snprintf(what, sizeof what, "%s:long5000", dirs[d]);
    try_open(what, 3 + d, longname, 5000, 1);
  }
  // fds that are not preopens: stdin..stderr and beyond.
  for (int fd = 0; fd < 3; fd++) {
    snprintf(what, sizeof what, "fd%d:etc/passwd", fd);
    try_open(what, fd, "etc/passwd", 10, 0);
  }
  try_open("fd6:etc/passwd", 6, "etc/passwd", 10, 0);
  // Through libc's preopen resolution.
  const char *abs[] = {"/etc/passwd", "/in/../etc/passwd", "/in/../../etc/passwd", "/tmp/../etc/passwd",
                       "/out/../../etc/passwd", "/proc/self/environ", "/", "/..", "../etc/passwd"};
  for (size_t i = 0; i < sizeof abs / sizeof abs[0]; i++) try_libc(abs[i], O_RDONLY);
  const char *wr[] = {"/escape.txt", "/out/../escape.txt", "/tmp/../../escape.txt", "/in/escape.txt",
                      "/in/../tmp/../../escape.txt", "escape.txt"};
  for (size_t i = 0; i < sizeof wr / sizeof wr[0]; i++) try_libc(wr[i], O_WRONLY | O_CREAT);
  // Symlinks and hard links are refused; nothing can point outside.
  printf("symlink %s\n", symlink("/etc/passwd", "/tmp/link") == 0 ? "MADE" : "refused");
  printf("symlink2 %s\n", symlink("../../etc/passwd", "/out/link") == 0 ? "MADE" : "refused");
  printf("link %s\n", link("/in/data.txt", "/tmp/hard") == 0 ? "MADE" : "refused");
  try_libc("/tmp/link", O_RDONLY);
  try_libc("/out/link", O_RDONLY);
  // Reading back /out is refused too, and /in is read-only.
  int fd = open("/out/mine.txt", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) { write(fd, "x", 1); close(fd); }
  try_libc("/out/mine.txt", O_RDONLY);
  try_libc("/in/data.txt", O_WRONLY);
  printf("mkdir in: %s\n", mkdir("/in/d", 0755) == 0 ? "MADE" : "refused");
  printf("unlink in: %s\n", unlink("/in/data.txt") == 0 ? "MADE" : "refused");
  // Control: a granted file opens.
  try_open("control in:data.txt", 3, "data.txt", 8, 0);
}

static void list(const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    stat(p, &st);
    printf("%*s%s %lld%s\n", depth * 2, "", p, (long long)st.st_size, S_ISDIR(st.st_mode) ? " dir" : "");
    if (S_ISDIR(st.st_mode)) list(p, depth + 1);
  }
  closedir(d);
}

static volatile int sink;
static char *volatile keep; // so the compiler cannot elide the mallocs

int main(int argc, char **argv) {
  if (argc < 2) return 0;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "cat")) return cat_fd(0);
  if (!strcmp(cmd, "catfile")) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) { fprintf(stderr, "open %s: %s\n", argv[2], strerror(errno)); return 2; }
    return cat_fd(fd);
  }
  if (!strcmp(cmd, "args")) {
    for (int i = 0; i < argc; i++) printf("arg %s\n", argv[i]);
    for (int i = 2; i < argc; i++) { const char *v = getenv(argv[i]); printf("env %s=%s\n", argv[i], v ? v : "(unset)"); }
    return 0;
  }
  if (!strcmp(cmd, "exit")) return atoi(argv[2]);
  if (!strcmp(cmd, "stderr")) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) fputc('e', stderr);
    return 0;
  }
  if (!strcmp(cmd, "write")) {  // write PATH TEXT
    FILE *f = fopen(argv[2], "w");
    if (!f) { fprintf(stderr, "fopen %s: %s\n", argv[2], strerror(errno)); return 2; }
    fputs(argv[3], f);
    return fclose(f) == 0 ? 0 : 3;
  }
  if (!strcmp(cmd, "outs")) {  // a few outputs, one in a subdirectory
    mkdir("/out/sub", 0755);
    FILE *a = fopen("/out/a.txt", "w"), *b = fopen("/out/sub/b.txt", "w");
    if (!a || !b) return 2;
    fputs("alpha", a);
    for (int i = 0; i < 1000; i++) fputs("0123456789", b);
    fclose(a);
    fclose(b);
    return 0;
  }
  if (!strcmp(cmd, "manyfiles")) {
    for (int i = 0;; i++) {
      char p[64];
      snprintf(p, sizeof p, "/out/f%05d.txt", i);
      FILE *f = fopen(p, "w");
      if (!f) { printf("stopped at %d: %s\n", i, strerror(errno)); return 1; }
      fputs("x", f);
      fclose(f);
    }
  }
  if (!strcmp(cmd, "bigout")) {  // endless bytes into one /out file
    FILE *f = fopen("/out/big", "w");
    if (!f) return 2;
    static char buf[65536];
    for (;;) if (fwrite(buf, 1, sizeof buf, f) != sizeof buf) { printf("write failed\n"); return 1; }
  }
  if (!strcmp(cmd, "tmp")) {  // /tmp starts empty, works, and is private
    list("/tmp", 0);
    FILE *f = fopen("/tmp/scratch", "w");
    if (!f) { printf("fopen: %s\n", strerror(errno)); return 2; }
    fputs(argv[2], f);
    fclose(f);
    mkdir("/tmp/d", 0755);
    rename("/tmp/scratch", "/tmp/d/moved");
    f = fopen("/tmp/d/moved", "r");
    char buf[128] = {0};
    fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    printf("read back: %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "tmpfill")) {
    FILE *f = fopen("/tmp/fill", "w");
    static char buf[65536];
    for (;;) if (fwrite(buf, 1, sizeof buf, f) != sizeof buf) return 1;
  }
  if (!strcmp(cmd, "ls")) { list(argc > 2 ? argv[2] : "/in", 0); return 0; }
  if (!strcmp(cmd, "time")) {
    struct timespec ts, mono;
    clock_gettime(CLOCK_REALTIME, &ts);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    unsigned char r[16];
    getentropy(r, sizeof r);
    printf("time %lld.%09ld mono %lld.%09ld rand ", (long long)ts.tv_sec, ts.tv_nsec,
           (long long)mono.tv_sec, mono.tv_nsec);
    for (int i = 0; i < 16; i++) printf("%02x", r[i]);
    printf(" rand() %d\n", rand());
    return 0;
  }
  if (!strcmp(cmd, "loop")) { for (;;) sink++; }
  if (!strcmp(cmd, "sleep")) { for (;;) sleep(1000); }
  if (!strcmp(cmd, "readstdin")) { char c; return (int)read(0, &c, 1); }
  if (!strcmp(cmd, "malloc")) {
    size_t total = 0;
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) { fprintf(stderr, "malloc failed after %zu MiB\n", total >> 20); return 3; }
      memset(p, 1, 1 << 20);
      *(char **)p = keep;  // a list of every block: all stay live
      keep = p;
      total += 1 << 20;
    }
  }
  if (!strcmp(cmd, "spew")) {
    static char buf[4096];
    memset(buf, 'y', sizeof buf);
    for (;;) fwrite(buf, 1, sizeof buf, stdout);
  }
  if (!strcmp(cmd, "trap")) __builtin_trap();
  if (!strcmp(cmd, "escape")) { escape(); return 0; }
  fprintf(stderr, "unknown command %s\n", cmd);
  return 64;
}
